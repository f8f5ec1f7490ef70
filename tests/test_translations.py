"""The translated pages mirror the English ones: read from the sources, without building the book.

Covers what a translation must keep from its English original (the language cell aside, the code
cells; the glued numbers, math, links, included code, headings' structure and exercise labels),
the labels that code draws, that the prose is written in the page's language, and that the pages
that are missing or behind their English original are exactly the ones declared in
``book/translations-pending.yml``. What needs the built site (shared anchors, the numbers as
shown, the behind notice on the page, fonts in figures) is checked in ``test_book.py``.
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
sys.path.insert(0, str(BOOK / "_ext"))

import translations  # noqa: E402  (the book's extension, used as a library)

from llmedu import i18n  # noqa: E402

LANGS = ("cs", "bn", "hi")
PENDING = yaml.safe_load((BOOK / "translations-pending.yml").read_text(encoding="utf-8"))
LABEL = re.compile(r"""\b_\("((?:[^"\\]|\\.)*)"\)""")


def pairs() -> list[tuple[str, str]]:
    """(language, page name) of every translated page that exists."""
    return [(lang, p.name) for lang in LANGS for p in sorted((BOOK / lang).glob("*.md"))]


def text(lang: str, name: str) -> str:
    return (BOOK / lang / name).read_text(encoding="utf-8")


def code_cells(source: str) -> list[str]:
    """The code of each code cell, without its options (tags and alt text are translated)."""
    cells = []
    for _, body, _ in translations.CODE_CELL.findall(source):
        lines = body.split("\n")
        while lines and (lines[0].startswith(":") or not lines[0].strip()):
            lines.pop(0)
        cells.append("\n".join(lines).strip())
    return cells


def without_code(source: str) -> str:
    return translations.CODE_CELL.sub("", translations.FRONT_MATTER.sub("", source))


def test_the_pending_list_is_the_true_state() -> None:
    """Missing and behind pages are declared, and every declared one is really missing or behind.

    After translating or updating a page: stamp it (scripts/translation_status.py --stamp) and
    remove it from book/translations-pending.yml. After changing an English page: update its
    translations, or declare them behind (their pages then show a notice linking to English).
    """
    report = translations.status()
    declared = {lang: {kind: sorted(PENDING.get(lang, {}).get(kind) or []) for kind in ("missing", "behind")}
                for lang in LANGS}
    assert report == declared


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_every_translated_page_has_an_english_original(lang: str, name: str) -> None:
    assert (BOOK / "en" / name).exists(), f"book/{lang}/{name} has no English original"


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_code_cells_equal_the_english_ones(lang: str, name: str) -> None:
    english, translated = code_cells(text("en", name)), code_cells(text(lang, name))
    if not english:
        assert not translated
        return
    assert english[0] == 'LANG = "en"', f"book/en/{name}: the first code cell must be LANG = \"en\""
    assert translated[0] == f'LANG = "{lang}"', f"book/{lang}/{name}: the first code cell must name the language"
    assert len(translated) == len(english), f"book/{lang}/{name} has {len(translated)} code cells, English {len(english)}"
    for i, (mine, theirs) in enumerate(zip(translated[1:], english[1:]), start=2):
        assert mine == theirs, f"book/{lang}/{name}: code cell {i} differs from English"


def _found(pattern: str, source: str) -> Counter[str]:
    return Counter(re.findall(pattern, without_code(source), re.S))


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_glued_numbers_math_links_and_includes_are_the_english_ones(lang: str, name: str) -> None:
    english, translated = text("en", name), text(lang, name)
    checks = {
        "glued values": r"\{glue(?::\w+)?\}`[^`]+`",
        "display math": r"\$\$.+?\$\$",
        "inline math": r"(?<![\$\\])\$(?!\$)[^$]+?\$",
        "link targets": r"\]\(([^)\s]+)\)",
        "included code": r"```\{literalinclude\}[^\n]*\n(?::[^\n]*\n)*",
    }
    for what, pattern in checks.items():
        found = _found(pattern, translated)
        if what == "link targets":  # a page not translated yet is linked in English
            found = Counter({_untranslated_link(target, lang): n for target, n in found.items()})
        assert found == _found(pattern, english), f"book/{lang}/{name}: {what} differ from English"


def _untranslated_link(target: str, lang: str) -> str:
    """A translated page's link as English writes it: its own language's lab is English's lab.

    (And ``../en/pruning.md`` as ``pruning.md`` while book/<lang>/pruning.md does not exist.)
    """
    lab = target.removeprefix(f"../../notebooks/{lang}/")
    if lab != target:
        return f"../../notebooks/{lab}"
    page = target.removeprefix("../en/")
    return page if page != target and not (BOOK / lang / page.split("#")[0]).exists() else target


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_links_to_labs_open_the_labs_in_the_page_language(lang: str, name: str) -> None:
    for target in re.findall(r"\]\((\.\./\.\./notebooks/[^)\s]+)\)", text(lang, name)):
        lab = target.rsplit("/", 1)[1].split("#")[0]
        assert target.startswith(f"../../notebooks/{lang}/") or not (ROOT / "notebooks" / lang / lab).exists(), \
            f"book/{lang}/{name} links to {target}, not to notebooks/{lang}/{lab}"


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_headings_and_exercise_labels_mirror_english(lang: str, name: str) -> None:
    def headings(source: str) -> list[int]:
        return [len(m) for m in re.findall(r"^(#{1,6}) ", without_code(source), re.M)]

    def labels(source: str, prefix: str) -> list[str]:
        found = re.findall(r"^:label: (\S+)|^\((\S+)\)=$", source, re.M)
        return [(a or b).removeprefix(prefix) for a, b in found]

    english, translated = text("en", name), text(lang, name)
    assert headings(translated) == headings(english), f"book/{lang}/{name}: headings' levels differ from English"
    assert labels(translated, f"{lang}-") == labels(english, "en-"), f"book/{lang}/{name}: exercise labels"
    for a, b in re.findall(r"^:label: (\S+)|^\((\S+)\)=$", translated, re.M):
        assert (a or b).startswith(f"{lang}-"), f"book/{lang}/{name}: label {a or b} must start with {lang}-"


def test_every_label_drawn_by_code_is_translated() -> None:
    for lang in LANGS:
        table = i18n.table(lang)
        for page in sorted((BOOK / lang).glob("*.md")):
            for cell in code_cells(page.read_text(encoding="utf-8")):
                for label in LABEL.findall(cell):
                    assert label in table, f"llmedu/translations/{lang}.json lacks {label!r} (used in book/{lang}/{page.name})"
                    fields = {f for _, f, _, _ in string.Formatter().parse(label) if f}
                    got = {f for _, f, _, _ in string.Formatter().parse(table[label]) if f}
                    assert got == fields, f"{lang}: {label!r} has fields {fields}, its translation {got}"


def test_translation_tables_are_valid_and_share_their_keys() -> None:
    tables = {lang: json.loads((ROOT / "llmedu" / "translations" / f"{lang}.json").read_text(encoding="utf-8"))
              for lang in LANGS}
    for lang, table in tables.items():
        assert all(isinstance(v, str) and v.strip() for v in table.values()), f"{lang}: empty translations"
    assert len({frozenset(t) for t in tables.values()}) == 1, "the translation tables label different things"


# --- the prose is in the page's language --------------------------------------------------------

#: Frequent English words that are not Czech words too (unlike "to", "by", "a").
ENGLISH_WORDS = {"the", "and", "of", "is", "are", "which", "with", "that", "this", "for", "from", "its", "than", "into"}
SCRIPTS = {"bn": (0x0980, 0x09FF), "hi": (0x0900, 0x097F)}


def prose_paragraphs(source: str) -> list[str]:
    """Paragraphs of prose: no code, math, directives' options, inline code, roles or link targets."""
    body = without_code(source)
    body = re.sub(r"```\{(?:literalinclude|code-block|raw)\}.*?```", "", body, flags=re.S)
    body = re.sub(r"\$\$.+?\$\$", "", body, flags=re.S)
    paragraphs = []
    for block in re.split(r"\n\s*\n", body):
        lines = [ln for ln in block.split("\n") if not re.match(r"\s*(```|:\w|\(|\{)", ln)]
        prose = " ".join(lines)
        prose = re.sub(r"\$[^$]+\$|`[^`]*`|\]\([^)]*\)|\{[\w:-]+\}|https?://\S+", " ", prose)
        if len(re.findall(r"\w", prose)) >= 20:
            paragraphs.append(prose)
    return paragraphs


def untranslated(paragraphs: list[str], lang: str) -> list[str]:
    """The paragraphs that are not in ``lang``: English words in Czech, Latin script in Bengali or Hindi."""
    found = []
    for paragraph in paragraphs:
        words = re.findall(r"[^\W\d_]+", paragraph)
        if lang == "cs":
            english = sum(w.lower() in ENGLISH_WORDS for w in words)
            wrong = english >= 2 and english / len(words) > 0.05
        else:
            low, high = SCRIPTS[lang]
            letters = [c for w in words for c in w]
            wrong = sum(low <= ord(c) <= high for c in letters) < 0.5 * len(letters)
        if wrong:
            found.append(paragraph[:120])
    return found


@pytest.mark.parametrize(("lang", "name"), pairs())
def test_prose_is_written_in_the_page_language(lang: str, name: str) -> None:
    found = untranslated(prose_paragraphs(text(lang, name)), lang)
    assert not found, f"book/{lang}/{name}: paragraphs not in the page's language: {found}"


@pytest.mark.parametrize("lang", LANGS)
def test_the_language_check_catches_english(lang: str) -> None:
    """The check above can fail: English paragraphs are not taken for Czech, Bengali or Hindi."""
    paragraphs = prose_paragraphs(text("en", "parameters-and-memory.md"))
    assert len(paragraphs) > 20
    assert len(untranslated(paragraphs, lang)) >= 0.8 * len(paragraphs)


# --- the behind notice ---------------------------------------------------------------------------

def test_a_page_behind_its_english_original_gets_a_notice() -> None:
    page = "parameters-and-memory.md"
    current = f"---\ntranslation_of: {translations.source_hash(page)}\n---\n\n# Název\n\nText.\n"
    stale = current.replace(translations.source_hash(page), "000000000000")
    assert translations.with_behind_notice(current, "cs", page) == current
    noticed = translations.with_behind_notice(stale, "cs", page)
    assert "translation-behind" in noticed and f"../en/{page}" in noticed
    assert noticed.index("# Název") < noticed.index("translation-behind")


# --- the maintainer's script --------------------------------------------------------------------

def test_stamp_and_sync_code_bring_a_page_in_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import translation_status

    (tmp_path / "en").mkdir()
    (tmp_path / "cs").mkdir()
    cell = "```{code-cell} ipython3\n"
    english = f"# Title\n\n{cell}LANG = \"en\"\n```\n\nText.\n\n{cell}:tags: [hide-input]\nprint(2)\n```\n"
    czech = f"# Název\n\n{cell}LANG = \"cs\"\n```\n\nText.\n\n{cell}:tags: [hide-input]\nprint(1)\n```\n"
    (tmp_path / "en" / "page.md").write_text(english, encoding="utf-8")
    page = tmp_path / "cs" / "page.md"
    page.write_text(czech, encoding="utf-8")
    monkeypatch.setattr(translations, "BOOK", tmp_path)
    assert translations.status(tmp_path)["cs"] == {"missing": [], "behind": ["page.md"]}
    assert translation_status.sync_code(page) == 1
    assert code_cells(page.read_text(encoding="utf-8")) == ['LANG = "cs"', "print(2)"]
    assert ":tags: [hide-input]" in page.read_text(encoding="utf-8")
    translation_status.stamp(page)
    assert translations.status(tmp_path)["cs"] == {"missing": [], "behind": []}
    assert page.read_text(encoding="utf-8").startswith("---\ntranslation_of: ")
