"""The book's licences: LICENSE, CITATION.cff and the third-party notices (the footer: ``test_book.py``).

The site and the package ship files that others wrote (fonts, MathJax, Pyodide, the theme's
assets, BERT's vocabulary). Every file they ship is either the project's own (``OWN_SITE`` and
``OWN_PACKAGE`` below) or covered by an entry of ``THIRD_PARTY_NOTICES.md``, whose licence text
that file carries; no entry covers nothing.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTICES = ROOT / "THIRD_PARTY_NOTICES.md"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))

#: The project's own files in the built site (pages, figures, the search index, the calculator).
OWN_SITE = ("*.html", ".buildinfo", "objects.inv", "searchindex.js", "_sources/*", "_images/*",
            "_static/languages.css", "_static/calculator.css", "_static/accessibility.css", "_static/favicon.svg",
            "calculator/*", "licence/*")
#: The project's own files in the wheel (the code, its translations, the models it trained).
OWN_PACKAGE = ("llmedu/*.py", "llmedu/translations/*.json", "llmedu/lab/fingerprint.json", "llmedu/lab/shipped/*",
               "llmedu/lab/eval_text.txt",  # the book's own prose (CC BY 4.0), scored by the decoder labs
               "llmedu/lab/calibration_text.txt",  # the book's own prose (CC BY 4.0), calibration for GPTQ and Wanda
               "llmedu-*.dist-info/*")


@dataclass
class Notice:
    name: str
    licences: list[str]
    site: list[str]
    package: list[str]


def _files(line_start: str, body: str) -> list[str]:
    line = next((ln for ln in body.splitlines() if ln.startswith(line_start)), "")
    return re.findall(r"`([^`]+)`", line)


def notices() -> list[Notice]:
    """The entries of ``THIRD_PARTY_NOTICES.md`` (the sections before the licence texts)."""
    text = NOTICES.read_text(encoding="utf-8").split("\n## Licence texts", 1)[0]
    entries = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        name, body = section.split("\n", 1)
        entries.append(Notice(name.strip(), _files("- Licence:", body), _files("- Site files:", body),
                              _files("- Package files:", body)))
    return entries


def licence_texts() -> set[str]:
    """The SPDX identifiers whose texts ``THIRD_PARTY_NOTICES.md`` carries."""
    return set(re.findall(r"^### (\S+)$", NOTICES.read_text(encoding="utf-8").split("\n## Licence texts", 1)[1], re.M))


def uncovered(files: list[str], own: tuple[str, ...], patterns: list[str]) -> list[str]:
    """The files matched neither by an own pattern nor by a notice's pattern."""
    return [f for f in files if not any(fnmatch.fnmatchcase(f, p) for p in (*own, *patterns))]


def shipped(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The files of the ``llmedu`` wheel, built from this checkout as ``pip`` would."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "--quiet", "--disable-pip-version-check", "-w", str(out)], check=True, capture_output=True)
    (built,) = out.glob("llmedu-*.whl")
    with zipfile.ZipFile(built) as archive:
        return sorted(name for name in archive.namelist() if not name.endswith("/"))


# --- the notices --------------------------------------------------------------------------------

def test_every_notice_names_a_licence_whose_text_it_carries() -> None:
    entries = notices()
    assert len(entries) >= 10, "the notices file lost its entries"
    texts = licence_texts()
    for entry in entries:
        assert entry.licences, f"{entry.name}: no licence"
        assert entry.site or entry.package, f"{entry.name}: covers no file"
        missing = set(entry.licences) - texts
        assert not missing, f"{entry.name}: THIRD_PARTY_NOTICES.md lacks the text of {sorted(missing)}"


def test_uncovered_finds_a_file_without_a_notice() -> None:
    """The check below can fail: a new third-party asset is reported, an own or noticed one is not."""
    files = ["_static/new-widget.js", "_static/languages.css", "mathjax/tex-chtml.js"]
    assert uncovered(files, OWN_SITE, ["mathjax/*"]) == ["_static/new-widget.js"]


def test_every_file_of_the_site_is_ours_or_has_a_notice(site: Path) -> None:
    files = shipped(site)
    patterns = [p for entry in notices() for p in entry.site]
    assert not uncovered(files, OWN_SITE, patterns), (
        "files the site ships that are neither the project's own nor in THIRD_PARTY_NOTICES.md: "
        f"{uncovered(files, OWN_SITE, patterns)}")
    for entry in notices():
        for pattern in entry.site:
            assert fnmatch.filter(files, pattern), f"{entry.name}: no site file matches {pattern!r} (stale entry?)"


def test_every_file_of_the_wheel_is_ours_or_has_a_notice(wheel: list[str]) -> None:
    patterns = [p for entry in notices() for p in entry.package]
    assert not uncovered(wheel, OWN_PACKAGE, patterns), (
        f"files the wheel ships that are neither the project's own nor in THIRD_PARTY_NOTICES.md: "
        f"{uncovered(wheel, OWN_PACKAGE, patterns)}")
    for entry in notices():
        for pattern in entry.package:
            assert fnmatch.filter(wheel, pattern), f"{entry.name}: no wheel file matches {pattern!r} (stale entry?)"


def test_the_wheel_carries_the_licences(wheel: list[str]) -> None:
    names = {Path(name).name for name in wheel if ".dist-info/licenses/" in name}
    assert {"LICENSE", "LICENSE-CC-BY-4.0", "THIRD_PARTY_NOTICES.md"} <= names, names


# --- LICENSE, CITATION.cff, pyproject.toml ----------------------------------------------------

def test_licence_files_name_both_licences() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "MIT License" in text and "Permission is hereby granted" in text
    assert (ROOT / "LICENSE-CC-BY-4.0").read_text(encoding="utf-8").startswith("Creative Commons Attribution 4.0 International")
    expression = PYPROJECT["project"]["license"]
    assert isinstance(expression, str) and "MIT" in expression.split(" AND "), expression
    package_licences = {lic for entry in notices() if entry.package for lic in entry.licences}
    assert package_licences <= set(expression.split(" AND ")), (expression, package_licences)


def test_citation_names_this_release_and_repository() -> None:
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert citation["title"] == CONFIG["title"] == citation["preferred-citation"]["title"]
    assert citation["version"] == PYPROJECT["project"]["version"]
    assert citation["repository-code"].rstrip("/") == CONFIG["repository"]["url"].rstrip("/")
    assert set(citation["license"]) == {"CC-BY-4.0", "MIT"}
    assert citation["authors"] and all(a.get("name") or a.get("family-names") for a in citation["authors"])
    assert set(citation["preferred-citation"]["languages"]) == {"en", "cs", "bn", "hi"}
