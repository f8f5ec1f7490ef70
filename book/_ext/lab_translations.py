"""The labs in Czech, Bengali and Hindi: the executed English lab, with its prose translated.

``notebooks/<lang>/NN_name.ipynb`` is ``notebooks/NN_name.ipynb`` with its markdown cells in
``<lang>``. The code cells, their outputs and the notebook's metadata are copied from the English
lab: the same computation, run once and checked by nbval there, so a translated lab prints the
book's numbers by construction and is never executed on its own. Its markdown cells are kept from
the translation, matched by cell id.

**Kept in step, cell by cell.** A translated markdown cell names, in its metadata, the English text
it translates (``translation_of``: 12 hex digits of the SHA-256 of the English cell's source). A
cell is *behind* when the English cell has changed since, or when it has no translation yet (it
then holds the English text, so the lab stays whole). A lab with a cell behind opens with a
notice in its own language, a markdown cell right after the title, so that a student who opens
it in Colab, without the book around it, sees it too.

A small library for ``scripts/translate_labs.py`` (the maintainer's command) and the tests. Leaves
out the site (the switcher and each language's part of the sidebar: ``languages.py``) and the
prose itself.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from llmedu import fmt

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = tuple(lang for lang in fmt.LANGUAGES if lang != "en")
NOTICE_ID = "translation-behind"

#: The notice on a lab with cells behind English: a title and a body with a link to the English lab.
BEHIND_NOTICE = {
    "cs": ("Překlad zaostává za anglickým originálem",
           "Anglická verze tohoto cvičení se od posledního překladu změnila; některé odstavce jsou "
           "proto starší, nebo zatím anglicky. Kód a výstupy jsou aktuální. Aktuální text najdete "
           "v [anglickém originálu]({link})."),
    "bn": ("এই অনুবাদ ইংরেজি মূল ল্যাবের চেয়ে পুরোনো",
           "শেষ অনুবাদের পর এই ল্যাবের ইংরেজি সংস্করণ বদলেছে; তাই কিছু অনুচ্ছেদ পুরোনো, বা এখনও ইংরেজিতে। "
           "কোড আর আউটপুট হালনাগাদ। সর্বশেষ লেখাটি পাবেন [ইংরেজি মূল ল্যাবে]({link})।"),
    "hi": ("यह अनुवाद अंग्रेज़ी मूल लैब से पीछे है",
           "पिछले अनुवाद के बाद इस लैब का अंग्रेज़ी संस्करण बदल गया है; इसलिए कुछ पैराग्राफ़ पुराने हैं, या अभी "
           "अंग्रेज़ी में हैं। कोड और आउटपुट ताज़ा हैं। ताज़ा पाठ [अंग्रेज़ी मूल लैब]({link}) में पढ़ें।"),
}
#: One cell's text in an exported translation: ``<!-- cell ID -->`` on a line of its own (``<!-- cell
#: ID behind -->`` where the translation is missing or older than the English cell), then the text.
CELL_MARK = re.compile(r"^<!-- cell (\S+?)( behind)? -->\n", re.M)


def english_labs(root: Path = ROOT) -> list[Path]:
    """The English labs, ``notebooks/NN_name.ipynb``."""
    return sorted((root / "notebooks").glob("*.ipynb"))


def translation_path(lab: Path, lang: str) -> Path:
    """Where the ``lang`` translation of the English lab ``lab`` lives."""
    if lang not in TRANSLATED:
        raise ValueError(f"no translated labs in {lang!r}: the languages are {', '.join(TRANSLATED)}")
    return lab.parent / lang / lab.name


def english_lab(name: str, root: Path = ROOT) -> Path:
    """The English lab called ``name`` (``03_pruning``, ``03_pruning.ipynb`` or a path to either)."""
    stem = Path(name).name.removesuffix(".ipynb")
    path = root / "notebooks" / f"{stem}.ipynb"
    if not path.is_file():
        known = ", ".join(p.stem for p in english_labs(root))
        raise ValueError(f"no English lab called {stem!r}: the labs are {known}")
    return path


def cell_hash(source: str | list[str]) -> str:
    """The version of an English markdown cell: 12 hex digits of the SHA-256 of its text."""
    text = "".join(source) if isinstance(source, list) else source
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, notebook: dict[str, Any]) -> None:
    """Write as Jupyter does (nbformat's layout), so that an unchanged lab rewrites the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def behind_cells(english: dict[str, Any], translated: dict[str, Any]) -> list[str]:
    """The ids of the English markdown cells whose translation is missing or older than the English text."""
    done = {c["id"]: c.get("metadata", {}).get("translation_of") for c in translated["cells"]
            if c["cell_type"] == "markdown"}
    return [c["id"] for c in english["cells"]
            if c["cell_type"] == "markdown" and done.get(c["id"]) != cell_hash(c["source"])]


def notice_cell(lang: str, lab_name: str) -> dict[str, Any]:
    title, body = BEHIND_NOTICE[lang]
    text = f"> **⚠ {title}**\n>\n> {body.format(link=f'../{lab_name}')}"
    return {"cell_type": "markdown", "id": NOTICE_ID, "metadata": {}, "source": _lines(text)}


def _kept_translations(english: dict[str, Any], translated: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """English markdown cell id -> the translated cell that carries its translation.

    By cell id; a cell whose id changed (split, re-created) finds its translation by the version
    of the English text that the translation names.
    """
    mine = {c["id"]: c for c in (translated or {"cells": []})["cells"]
            if c["cell_type"] == "markdown" and c["id"] != NOTICE_ID}
    by_version = {c.get("metadata", {}).get("translation_of"): c for c in mine.values()}
    by_version.pop(None, None)
    kept = {}
    for cell in english["cells"]:
        if cell["cell_type"] == "markdown":
            found = mine.get(cell["id"]) or by_version.get(cell_hash(cell["source"]))
            if found is not None:
                kept[cell["id"]] = found
    return kept


def dropped(english: dict[str, Any], translated: dict[str, Any] | None) -> list[str]:
    """The ids of the translated cells that :func:`derive` leaves out: their English cell is gone."""
    kept = {id(c) for c in _kept_translations(english, translated).values()}
    sources = {"".join(c["source"]) for c in english["cells"]}
    return [c["id"] for c in (translated or {"cells": []})["cells"]
            if c["cell_type"] == "markdown" and c["id"] != NOTICE_ID and id(c) not in kept
            and "".join(c["source"]) not in sources]


def derive(english: dict[str, Any], translated: dict[str, Any] | None, lang: str, lab_name: str) -> dict[str, Any]:
    """The ``lang`` lab: ``english`` with the markdown of ``translated``, and the notice if a cell is behind.

    Every cell other than a markdown one (code, its outputs, raw), the cells' order and the
    notebook's metadata come from ``english``; a markdown cell keeps English's metadata and
    attachments, with its translation's text and ``translation_of``. A markdown cell with no
    translation holds the English text (without a ``translation_of``, so it counts as behind).
    """
    if any(c["id"] == NOTICE_ID for c in english["cells"]):
        raise ValueError(f"{lab_name} has a cell with the id {NOTICE_ID!r}, the translations' notice's: give it another id")
    kept = _kept_translations(english, translated)
    cells = []
    for cell in english["cells"]:
        cell = copy.deepcopy(cell)
        if cell["id"] in kept:
            version = kept[cell["id"]].get("metadata", {}).get("translation_of")
            cell["source"] = copy.deepcopy(kept[cell["id"]]["source"])
            cell["metadata"] = {**cell.get("metadata", {}), **({"translation_of": version} if version else {})}
        cells.append(cell)
    notebook = {**copy.deepcopy({k: v for k, v in english.items() if k != "cells"}), "cells": cells}
    if behind_cells(english, notebook):
        cells.insert(1 if cells and cells[0]["cell_type"] == "markdown" else 0, notice_cell(lang, lab_name))
    return notebook


def status(root: Path = ROOT) -> dict[str, dict[str, list[str]]]:
    """For each translated language: the labs it lacks (``missing``), those with a cell behind (``behind``),
    and translations of no English lab (``orphaned``: the English lab was renamed or removed)."""
    report: dict[str, dict[str, list[str]]] = {}
    english = english_labs(root)
    for lang in TRANSLATED:
        missing, behind = [], []
        for lab in english:
            path = translation_path(lab, lang)
            if not path.exists():
                missing.append(lab.name)
            elif behind_cells(read(lab), read(path)):
                behind.append(lab.name)
        orphaned = sorted(p.name for p in (root / "notebooks" / lang).glob("*.ipynb")
                          if not (root / "notebooks" / p.name).exists())
        report[lang] = {"missing": missing, "behind": behind, "orphaned": orphaned}
    return report


def sync(lab: Path, lang: str) -> tuple[bool, list[str]]:
    """Rebuild the ``lang`` translation of ``lab`` from the English lab now.

    Returns whether the file changed, and the ids of translated cells left out because their
    English cell is gone (their text stays in git's history).
    """
    path = translation_path(lab, lang)
    old = path.read_text(encoding="utf-8") if path.exists() else None
    english, translated = read(lab), (json.loads(old) if old else None)
    lost = dropped(english, translated)
    write(path, derive(english, translated, lang, lab.name))
    return path.read_text(encoding="utf-8") != old, lost


def export(lab: Path, lang: str) -> str:
    """The lab's markdown cells as one text to translate: the translation where there is one, else English.

    A cell whose translation is missing or behind is marked ``<!-- cell ID behind -->``. ``lang``
    may be ``"en"`` (the English text, to translate from).
    """
    if lang == "en":
        return "".join(f"<!-- cell {c['id']} -->\n{''.join(c['source']).rstrip()}\n\n"
                       for c in read(lab)["cells"] if c["cell_type"] == "markdown")
    path = translation_path(lab, lang)
    english = read(lab)
    notebook = derive(english, read(path) if path.exists() else None, lang, lab.name)
    behind = set(behind_cells(english, notebook))
    return "".join(f"<!-- cell {c['id']}{' behind' if c['id'] in behind else ''} -->\n{''.join(c['source']).rstrip()}\n\n"
                   for c in notebook["cells"] if c["cell_type"] == "markdown" and c["id"] != NOTICE_ID)


def parse_export(text: str) -> dict[str, tuple[str, bool]]:
    """Cell id -> (markdown text, whether its mark says ``behind``), from a text in :func:`export`'s layout."""
    marks = list(CELL_MARK.finditer(text))
    if not marks:
        raise ValueError("no '<!-- cell ID -->' lines found: the text must keep export's cell marks")
    if text[:marks[0].start()].strip():
        raise ValueError(f"text before the first cell mark: {text[:marks[0].start()].strip()[:60]!r}")
    cells: dict[str, tuple[str, bool]] = {}
    for i, mark in enumerate(marks):
        if mark.group(1) in cells:
            raise ValueError(f"the cell {mark.group(1)} is given twice")
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        cells[mark.group(1)] = (text[mark.end():end].strip("\n"), bool(mark.group(2)))
    return cells


def import_translation(lab: Path, lang: str, text: str) -> list[str]:
    """Take the cells of ``text`` (export's layout) into the ``lang`` lab; return the ids of the cells still behind.

    A cell is stamped as translating the English cell as it is now where its text changed, or
    where its mark does not say ``behind`` (delete the word to confirm that an older translation
    still holds). A cell left as exported and marked ``behind`` stays behind; cells that ``text``
    leaves out keep what they had. Every cell of ``text`` must be a markdown cell of the English lab.
    """
    english = read(lab)
    ids = [c["id"] for c in english["cells"] if c["cell_type"] == "markdown"]
    given = parse_export(text)
    unknown = sorted(set(given) - set(ids))
    if unknown:
        raise ValueError(f"{lab.name} has no markdown cells {unknown}; its markdown cells are {ids}")
    path = translation_path(lab, lang)
    notebook = derive(english, read(path) if path.exists() else None, lang, lab.name)
    versions = {c["id"]: cell_hash(c["source"]) for c in english["cells"] if c["cell_type"] == "markdown"}
    for cell in notebook["cells"]:
        if cell["id"] in given:
            new, marked_behind = given[cell["id"]]
            if new.rstrip() != "".join(cell["source"]).rstrip() or not marked_behind:
                cell["source"] = _lines(new)
                cell["metadata"] = {**cell.get("metadata", {}), "translation_of": versions[cell["id"]]}
    write(path, derive(english, notebook, lang, lab.name))
    return behind_cells(english, read(path))
