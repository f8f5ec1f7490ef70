"""The translated labs are the English labs with their prose in Czech, Bengali or Hindi.

Read from the notebooks, without running them (their code and outputs are the English lab's,
which nbval checks). Covers: each translation is exactly its English lab rebuilt with its own
markdown (so code cells, outputs, metadata and the cells' order are English's, and the notice is
there exactly when a cell is behind); the markdown keeps English's headings, inline code, math
and links (a link to a chapter leads to the chapter in the lab's language); the prose is in the
lab's language; ``book/translations-pending.yml`` declares exactly the labs missing or behind;
the maintainer's script round-trips a translation. The site (each language's labs in its
sidebar, the switcher, launch buttons) is checked in ``test_book.py`` and ``test_browser.py``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "scripts"))

import lab_translations  # noqa: E402
from test_translations import untranslated  # noqa: E402

LANGS = lab_translations.TRANSLATED
PENDING = yaml.safe_load((ROOT / "book" / "translations-pending.yml").read_text(encoding="utf-8"))
#: The word a lab's title starts with ("Lab 3 · ..."), in each language.
LAB_WORD = {"en": "Lab", "cs": "Cvičení", "bn": "ল্যাব", "hi": "लैब"}


def pairs() -> list[tuple[str, str]]:
    """(language, lab file name) of every translated lab that exists."""
    return [(lang, lab.name) for lang in LANGS for lab in lab_translations.english_labs()
            if lab_translations.translation_path(lab, lang).exists()]


def notebooks(lang: str, name: str) -> tuple[dict, dict]:
    english = ROOT / "notebooks" / name
    return lab_translations.read(english), lab_translations.read(lab_translations.translation_path(english, lang))


def translated_markdown(lang: str, name: str) -> list[tuple[str, str]]:
    """(English text, translated text) of each markdown cell that is translated and current."""
    english, translated = notebooks(lang, name)
    behind = set(lab_translations.behind_cells(english, translated))
    mine = {c["id"]: "".join(c["source"]) for c in translated["cells"] if c["cell_type"] == "markdown"}
    return [("".join(c["source"]), mine[c["id"]]) for c in english["cells"]
            if c["cell_type"] == "markdown" and c["id"] not in behind]


def test_the_pending_list_is_the_true_state() -> None:
    """Missing and behind labs are declared (``missing labs``, ``behind labs``), and only they.

    After translating a lab or bringing it in step (scripts/translate_labs.py --import), remove it
    from book/translations-pending.yml; after changing an English lab's prose, run
    scripts/translate_labs.py --sync and declare the labs it reports behind (they show a notice).
    """
    declared = {lang: {kind: sorted(PENDING.get(lang, {}).get(f"{kind} labs") or []) for kind in ("missing", "behind")}
                for lang in LANGS}
    report = lab_translations.status()
    orphaned = {lang: labs.pop("orphaned") for lang, labs in report.items()}
    assert report == declared
    assert not any(orphaned.values()), f"translations of no English lab (rename or remove them): {orphaned}"


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_a_translated_lab_is_its_english_lab_with_translated_prose(lang: str, name: str) -> None:
    """Code, outputs, metadata and order are English's; the notice is there exactly when a cell is behind.

    After re-executing an English lab: scripts/translate_labs.py --sync.
    """
    english, translated = notebooks(lang, name)
    rebuilt = lab_translations.derive(english, translated, lang, name)
    assert translated == rebuilt, f"notebooks/{lang}/{name} is not its English lab rebuilt: run scripts/translate_labs.py --sync"
    code = [c for c in translated["cells"] if c["cell_type"] == "code"]
    assert code == [c for c in english["cells"] if c["cell_type"] == "code"]


def _headings(text: str) -> list[int]:
    return [len(m) for m in re.findall(r"^(#{1,6}) ", text, re.M)]


def _found(pattern: str, text: str) -> Counter[str]:
    """What ``pattern`` finds, each with its runs of white space as one space (a line may wrap inside it)."""
    return Counter(" ".join(found.split()) for found in re.findall(pattern, text, re.S))


def _link_in(lang: str, target: str) -> str:
    """An English lab's link as the translated lab writes it: a chapter in ``lang``, one folder up."""
    if target.startswith("../book/en/"):
        return f"../../book/{lang}/" + target.removeprefix("../book/en/")
    return target


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_headings_code_math_and_links_are_the_english_ones(lang: str, name: str) -> None:
    checks = {
        "inline code": r"`(?:[^`\n]|\n(?![ \t]*\n))+`",  # it may wrap onto the next line of its paragraph
        "display math": r"\$\$.+?\$\$",
        "inline math": r"(?<![\$\\])\$(?!\$)[^$]+?\$",
        "math blocks": r"```\{math\}.*?```",
    }
    for n, (english, translated) in enumerate(translated_markdown(lang, name)):
        where = f"notebooks/{lang}/{name}, markdown cell {n + 1}"
        assert _headings(translated) == _headings(english), f"{where}: headings' levels differ from English"
        for what, pattern in checks.items():
            assert _found(pattern, translated) == _found(pattern, english), f"{where}: {what} differs from English"
        links = Counter(_link_in(lang, t) for t in re.findall(r"\]\(([^)\s]+)\)", english))
        assert _found(r"\]\(([^)\s]+)\)", translated) == links, f"{where}: link targets differ from English's"


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_the_title_names_the_lab_in_the_language(lang: str, name: str) -> None:
    english, translated = notebooks(lang, name)
    number = re.match(r"# Lab (\d+) · ", "".join(english["cells"][0]["source"])).group(1)
    title = "".join(translated["cells"][0]["source"]).splitlines()[0]
    assert title.startswith(f"# {LAB_WORD[lang]} {number} · "), f"notebooks/{lang}/{name}: {title}"


def _prose(markdown: str) -> list[str]:
    """Paragraphs of prose: no code blocks, math, inline code, link targets or tables' rules."""
    body = re.sub(r"```.*?```|\$\$.+?\$\$", "", markdown, flags=re.S)
    paragraphs = []
    for block in re.split(r"\n\s*\n", body):
        prose = re.sub(r"\$[^$]+\$|`[^`]*`|\]\([^)]*\)|https?://\S+|\|[-:| ]+\|", " ", block.replace("\n", " "))
        if len(re.findall(r"\w", prose)) >= 20:
            paragraphs.append(prose)
    return paragraphs


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_the_prose_is_written_in_the_language(lang: str, name: str) -> None:
    paragraphs = [p for _, translated in translated_markdown(lang, name) for p in _prose(translated)]
    found = untranslated(paragraphs, lang)
    assert not found, f"notebooks/{lang}/{name}: paragraphs not in the lab's language: {found}"


@pytest.mark.parametrize("lang", LANGS)
def test_the_checks_catch_an_english_lab(lang: str) -> None:
    """A lab nobody translated counts as behind, shows the notice, and its prose is taken for English."""
    lab = ROOT / "notebooks" / "03_pruning.ipynb"
    english = lab_translations.read(lab)
    derived = lab_translations.derive(english, None, lang, lab.name)
    assert lab_translations.behind_cells(english, derived) == [c["id"] for c in english["cells"] if c["cell_type"] == "markdown"]
    assert derived["cells"][1]["id"] == lab_translations.NOTICE_ID
    assert f"](../{lab.name})" in "".join(derived["cells"][1]["source"])
    paragraphs = [p for c in english["cells"] if c["cell_type"] == "markdown" for p in _prose("".join(c["source"]))]
    assert len(untranslated(paragraphs, lang)) >= 0.8 * len(paragraphs) > 10


def _scratch_lab(root: Path) -> tuple[Path, dict]:
    (root / "notebooks").mkdir()
    english = {"cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Lab 1 · Title"]},
        {"cell_type": "code", "id": "b", "metadata": {}, "source": ["print(1)"], "execution_count": 1,
         "outputs": [{"name": "stdout", "output_type": "stream", "text": ["1\n"]}]},
        {"cell_type": "markdown", "id": "c", "metadata": {"tags": ["keep"]}, "source": ["Some `code`."]},
    ], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    lab = root / "notebooks" / "01_x.ipynb"
    lab_translations.write(lab, english)
    return lab, english


def test_export_and_import_bring_a_lab_in_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import translate_labs

    lab, english = _scratch_lab(tmp_path)
    assert lab_translations.status(tmp_path)["cs"] == {"missing": ["01_x.ipynb"], "behind": [], "orphaned": []}
    exported = lab_translations.export(lab, "cs")
    assert "<!-- cell a behind -->" in exported and "<!-- cell c behind -->" in exported
    # the title translated, the rest imported as exported: that cell stays behind
    assert lab_translations.import_translation(lab, "cs", exported.replace("# Lab 1 · Title", "# Cvičení 1 · Název")) == ["c"]
    assert lab_translations.status(tmp_path)["cs"]["behind"] == ["01_x.ipynb"]
    path = lab_translations.translation_path(lab, "cs")
    assert lab_translations.read(path)["cells"][1]["id"] == lab_translations.NOTICE_ID
    again = lab_translations.export(lab, "cs")
    assert lab_translations.import_translation(lab, "cs", again) == ["c"], "an unchanged export must change nothing"
    assert lab_translations.import_translation(lab, "cs", again.replace("Some `code`.", "Nějaký `code`.")) == []
    cells = lab_translations.read(path)["cells"]
    assert ["".join(c["source"]) for c in cells] == ["# Cvičení 1 · Název", "print(1)", "Nějaký `code`."]
    assert cells[1] == english["cells"][1] and cells[2]["metadata"]["tags"] == ["keep"]
    english["cells"][1]["outputs"][0]["text"] = ["2\n"]  # the English lab re-executed
    lab_translations.write(lab, english)
    assert lab_translations.sync(lab, "cs") == (True, []) and lab_translations.read(path)["cells"][1] == english["cells"][1]
    english["cells"][2]["source"] = ["Other `code`."]  # its prose changed: behind, until confirmed or updated
    lab_translations.write(lab, english)
    assert lab_translations.status(tmp_path)["cs"]["behind"] == ["01_x.ipynb"]
    stale = lab_translations.export(lab, "cs")
    assert "<!-- cell c behind -->\nNějaký `code`." in stale
    assert lab_translations.import_translation(lab, "cs", stale.replace("cell c behind", "cell c")) == []  # confirmed
    with pytest.raises(ValueError, match="no markdown cells"):
        lab_translations.import_translation(lab, "cs", "<!-- cell zz -->\nText\n")
    with pytest.raises(ValueError, match="given twice"):
        lab_translations.parse_export("<!-- cell a -->\nA\n<!-- cell a -->\nB\n")
    with pytest.raises(ValueError, match="before the first cell mark"):
        lab_translations.parse_export("Stray text\n<!-- cell a -->\nA\n")
    assert translate_labs.main(["--export", "xx", "01_x"]) == 2
    assert "no translated labs in 'xx'" in capsys.readouterr().err


def test_a_translation_follows_its_cell_and_says_what_it_loses(tmp_path: Path) -> None:
    """A cell whose id changed keeps its translation; one whose English cell is gone is reported; orphans too."""
    lab, english = _scratch_lab(tmp_path)
    text = lab_translations.export(lab, "cs").replace("# Lab 1 · Title", "# Cvičení 1 · Název")
    lab_translations.import_translation(lab, "cs", text.replace("Some `code`.", "Nějaký `code`."))
    english["cells"][0]["id"] = "a2"  # re-created in Jupyter, the same text
    english["cells"][2]["source"] = ["New `code`."]
    english["cells"][2]["id"] = "c2"  # replaced: its translation has nothing left to translate
    lab_translations.write(lab, english)
    assert lab_translations.sync(lab, "cs") == (True, ["c"])
    cells = lab_translations.read(lab_translations.translation_path(lab, "cs"))["cells"]
    assert "".join(cells[0]["source"]) == "# Cvičení 1 · Název" and cells[0]["id"] == "a2"
    assert lab_translations.behind_cells(english, {"cells": cells}) == ["c2"]
    lab_translations.write(tmp_path / "notebooks" / "cs" / "02_gone.ipynb", english)
    assert lab_translations.status(tmp_path)["cs"]["orphaned"] == ["02_gone.ipynb"]
    english["cells"][0]["id"] = lab_translations.NOTICE_ID
    with pytest.raises(ValueError, match="give it another id"):
        lab_translations.derive(english, None, "cs", "01_x.ipynb")
