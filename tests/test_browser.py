"""The site as a reader meets it: the built pages in headless Chromium, served on 127.0.0.1.

Covers what only a browser shows: that every page loads with no console error and no failed
request while every other host is unreachable, that the language switcher leads to the same
chapter, and the same lab, in each language, that math is typeset by the site's own MathJax, that Hindi and Bengali
text is drawn with a font that has its glyphs, that every image has an alt text in the
page's language, and that axe-core finds no serious or critical accessibility violation on any page. It saves a screenshot of one chapter per language in
``_build/test-artifacts/``. What the static HTML shows (links, anchors, ``<html lang>``) is
checked in ``test_book.py``.

Chromium comes from Debian's package (``scripts/setup.sh`` installs it); Playwright's Python
package drives it, with no browser of its own downloaded.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_translations import untranslated

playwright = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "_build" / "test-artifacts"
LANGS = ("en", "cs", "bn", "hi")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Unicode blocks of the scripts that need their own fonts, and a font family that covers each.
SCRIPTS = {"hi": ((0x0900, 0x097F), "Devanagari"), "bn": ((0x0980, 0x09FF), "Bengali")}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    """A server that says nothing when the browser drops a connection it no longer needs."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The built site on an ephemeral port of 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: bash scripts/setup.sh installs Debian's package")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


class Visit:
    """A page opened with every request to another host refused, recording what went wrong."""

    def __init__(self, browser: object, server: str, path: str, wait: bool = True) -> None:
        self.errors: list[str] = []
        if hasattr(browser, "new_context"):  # a browser: a page in a context of its own
            self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        else:  # a context: a page in the context's profile, with its other pages
            self.page = browser.new_page()
        self.page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), self._refuse)
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"script error: {e}"))
        # (a request cut short by leaving the page, such as the favicon's, is not a failure)
        self.page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "")
                     else self.errors.append(f"failed request: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        self.page.goto(f"{server}/{path}", wait_until="load" if wait else "commit")
        if wait:
            self.settle()

    def settle(self) -> None:
        """Wait until the page has loaded and made no request for half a second."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_load_state("networkidle")

    def _refuse(self, route: object) -> None:
        self.errors.append(f"request to another host: {route.request.url}")
        route.abort()

    def typeset(self) -> None:
        """Wait until MathJax has typeset the page (where it has math)."""
        if self.page.locator(".math").count():
            self.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("() => MathJax.startup.promise")

    def close(self) -> None:
        self.page.close()


def checks_contrast(path: str) -> bool:
    """Whether the axe check of page ``path`` includes colour contrast (axe-core's slowest rule, about
    60 % of its time): on the English pages and the language chooser. A translation has its English
    page's elements and the same style sheets (only the words differ), so its colours are the
    English page's; every other rule runs on every page."""
    english_lab = path.startswith("notebooks/") and path.count("/") == 1
    return path == "index.html" or path.startswith("book/en/") or english_lab


def page_paths(site: Path) -> list[str]:
    """Every page of the book (the chapters, the labs, the language chooser), as site paths."""
    pages = [p for p in site.rglob("*.html") if p.relative_to(site).parts[0] in ("book", "notebooks")]
    return sorted(["index.html", *(p.relative_to(site).as_posix() for p in pages)])


#: Pages opened at once by :func:`every_page`: each page's loading, and the quiet half second
#: waited for after it, overlap the others', and their axe-core checks run side by side.
AT_ONCE = 4
#: axe-core (npm, pinned in package-lock.json; scripts/setup.sh installs it), injected into each page.
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: Starts axe-core on the page (the rules it runs by default: WCAG 2.2 A and AA, and best practices;
#: the argument says whether colour contrast is among them) and keeps the promise of the
#: violations; :data:`AXE_RESULT` waits for it.
AXE_START = """contrast => { window.__axeViolations = axe.run(document, {resultTypes: ["violations"],
    rules: {"color-contrast": {enabled: contrast}}}).then(r => r.violations.map(
    v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))); }"""
AXE_RESULT = "() => window.__axeViolations"
#: What the check refuses: axe-core's two highest impacts.
REFUSED_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="module")
def every_page(site: Path, server: str, browser: object) -> dict[str, dict]:
    """One visit to every page, a few at a time: its errors, its article's images, axe-core's violations."""
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: bash scripts/setup.sh installs it (npm ci)")
    axe = AXE.read_text(encoding="utf-8")
    found = {}
    paths = page_paths(site)
    # One browser profile for all, as a reader's tabs share one (each page still makes its own
    # requests: Playwright turns the cache off for a page whose requests it routes).
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    for start in range(0, len(paths), AT_ONCE):
        batch = paths[start:start + AT_ONCE]
        visits = [Visit(context, server, path, wait=False) for path in batch]
        for path, visit in zip(batch, visits):
            visit.settle()
            visit.typeset()
            images = [{"src": img.get_attribute("src"), "alt": (img.get_attribute("alt") or "").strip()}
                      for img in visit.page.locator("article img").all()]
            found[path] = {"errors": visit.errors, "images": images}
            visit.page.add_script_tag(content=axe)
            visit.page.evaluate(AXE_START, checks_contrast(path))  # in the page's renderer, beside the others
        for path, visit in zip(batch, visits):
            found[path]["axe"] = visit.page.evaluate(AXE_RESULT)
            visit.close()
    context.close()
    return found


def test_every_page_loads_cleanly_offline(every_page: dict[str, dict]) -> None:
    problems = {path: page["errors"] for path, page in every_page.items() if page["errors"]}
    assert not problems, problems


def test_every_page_has_no_serious_accessibility_violation(every_page: dict[str, dict]) -> None:
    """axe-core over every page of every language, the site's header, sidebar and footer included
    (colour contrast on the pages of :func:`checks_contrast`)."""
    problems = {path: [f"{v['id']} ({v['impact']}: {v['help']}): {', '.join(v['nodes'][:3])}"
                       for v in page["axe"] if v["impact"] in REFUSED_IMPACTS]
                for path, page in every_page.items()}
    problems = {path: found for path, found in problems.items() if found}
    assert not problems, f"{len(problems)} pages: {problems}"


def test_the_accessibility_check_can_fail(server: str, browser: object) -> None:
    """The control: a page with an unlabelled button and an image without alt text is refused."""
    visit = Visit(browser, server, "index.html")
    visit.page.set_content('<html lang="en"><head><title>t</title></head><body><main>'
                           '<button><i class="icon"></i></button><img src="x.png"></main></body></html>')
    visit.page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    visit.page.evaluate(AXE_START, True)
    found = {v["id"]: v["impact"] for v in visit.page.evaluate(AXE_RESULT)}
    visit.close()
    assert found.get("button-name") == "critical" and found.get("image-alt") == "critical", found


def test_math_is_typeset(site: Path, server: str, browser: object) -> None:
    checked = 0
    for lang in LANGS:
        visit = Visit(browser, server, f"book/{lang}/parameters-and-memory.html")
        visit.typeset()
        rendered = visit.page.locator("mjx-container").count()
        assert rendered >= visit.page.locator(".math").count() > 0, lang
        # MathJax's assistive MathML: each formula also as MathML, which screen readers read
        assert visit.page.locator("mjx-container mjx-assistive-mml math").count() == rendered, lang
        text = visit.page.locator("article").inner_text()
        assert "\\frac" not in text and "$$" not in text and "\\(" not in text, f"raw TeX on the {lang} page"
        checked += 1
        visit.close()
    assert checked == len(LANGS)


def _switch(visit: Visit, server: str, origin: str, lang: str) -> str:
    """Open ``origin``, choose ``lang`` in the language switcher; the path it leads to (in ``lang``)."""
    visit.page.goto(f"{server}/{origin}")
    visit.page.click(".language-switcher button")
    visit.page.click(f".language-switcher a[hreflang='{lang}']")
    visit.page.wait_for_load_state("load")
    assert visit.page.evaluate("document.documentElement.lang") == lang, (origin, lang)
    return urlsplit(visit.page.url).path.lstrip("/")


def test_language_switcher_leads_to_the_same_chapter(site: Path, server: str, browser: object) -> None:
    """From every English chapter to one other language in turn, and from the landing page to each.

    (Where every page's switcher links lead is checked on the static pages, in test_book.py.)
    """
    chapters = sorted(p.name for p in (site / "book" / "en").glob("*.html"))
    visit = Visit(browser, server, "book/en/index.html")
    trips = [(chapter, LANGS[1 + n % 3]) for n, chapter in enumerate(chapters)] + [("index.html", lang) for lang in LANGS]
    for chapter, lang in trips:
        expected = f"book/{lang}/{chapter}" if (site / "book" / lang / chapter).exists() else f"book/{lang}/index.html"
        assert _switch(visit, server, f"book/en/{chapter}", lang) == expected, (chapter, lang)
    assert not visit.errors, visit.errors
    visit.close()


def test_language_switcher_leads_from_a_lab_to_the_same_lab(site: Path, server: str, browser: object) -> None:
    """From the English lab to each translation, and back from each translation to English."""
    def lab(lang: str) -> str:
        return "notebooks/03_pruning.html" if lang == "en" else f"notebooks/{lang}/03_pruning.html"

    visit = Visit(browser, server, lab("en"))
    for origin, expected, lang in [(lab("en"), lab(other), other) for other in LANGS[1:]] + \
                                  [(lab(other), lab("en"), "en") for other in LANGS[1:]]:
        assert _switch(visit, server, origin, lang) == expected, (origin, lang)
        heading = visit.page.locator("article h1").inner_text()
        assert lang == "en" or not heading.startswith("Lab "), heading
        if lang in SCRIPTS:
            _, script = SCRIPTS[lang]
            fonts = _rendered_fonts(visit.page, "article h1")
            assert any(script in family for family in fonts), f"{expected}: the title is drawn with {fonts}"
    assert not visit.errors, visit.errors
    visit.close()


def _rendered_fonts(page: object, selector: str) -> dict[str, int]:
    """The fonts Chromium really used to draw the text of the first ``selector``: family -> glyphs."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"]: f["glyphCount"] for f in fonts}


def test_hindi_and_bengali_are_drawn_with_fonts_that_have_their_glyphs(site: Path, server: str, browser: object) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for lang in LANGS:
        visit = Visit(browser, server, f"book/{lang}/parameters-and-memory.html")
        visit.typeset()
        visit.page.screenshot(path=str(ARTIFACTS / f"parameters-and-memory-{lang}.png"))
        if lang in SCRIPTS:
            (low, high), script = SCRIPTS[lang]
            fonts = _rendered_fonts(visit.page, "article h1")
            assert any(script in family for family in fonts), f"{lang}: the title is drawn with {fonts}"
            title = visit.page.locator("article h1").inner_text()
            assert any(low <= ord(c) <= high for c in title), title
        visit.close()


def _in_language(text: str, lang: str) -> bool:
    """The translation tests' check of a paragraph's language, on one alt text (English: has English words)."""
    if lang == "en":
        return bool(untranslated([text], "cs")) or len(text.split()) < 8
    return not untranslated([text], lang)


def test_every_image_has_an_alt_text_in_the_page_language(every_page: dict[str, dict]) -> None:
    missing, wrong = [], []
    chapters = [path for path in every_page if path.split("/")[:1] == ["book"]]
    assert {path.split("/")[1] for path in chapters} == set(LANGS)
    for path in chapters:
        lang = path.split("/")[1]
        for image in every_page[path]["images"]:
            name = f"{path}: {image['src']}"
            if len(image["alt"]) < 15:
                missing.append(name)
            elif not _in_language(image["alt"], lang):
                wrong.append(f"{name}: {image['alt'][:60]}")
    assert not missing, f"images without a meaningful alt text: {missing}"
    assert not wrong, f"alt texts not in the page's language: {wrong}"


def test_figures_are_readable_in_dark_mode(site: Path, server: str, browser: object) -> None:
    """Plots are drawn on an opaque white background, so their black text stays readable."""
    visit = Visit(browser, server, "book/en/parameters-and-memory.html")
    visit.page.evaluate("document.documentElement.dataset.theme = 'dark'")
    images = visit.page.locator("article img").all()
    assert images
    for img in images:
        corner = visit.page.evaluate(
            """(img) => { const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
                          const g = c.getContext('2d'); g.drawImage(img, 0, 0); return Array.from(g.getImageData(1, 1, 1, 1).data); }""",
            img.element_handle())
        assert corner[3] == 255 and min(corner[:3]) > 200, (img.get_attribute("src"), corner)
    visit.close()


def _search_results(browser: object, server: str, query: str, referer: str | None = None) -> list[str]:
    """Every result of a search, once the search has finished (Sphinx adds them one by one)."""
    page = browser.new_page()
    page.goto(f"{server}/search.html?q={query}", referer=referer, wait_until="load")
    page.wait_for_function("() => document.querySelector('#search-results p.search-summary')?.innerText", timeout=30000)
    hrefs = [a.get_attribute("href") for a in page.locator("#search-results ul.search li a").all()]
    page.close()
    return [h for h in hrefs if h]


@pytest.mark.parametrize(("lang", "word"), [("hi", "पैरामीटर"), ("bn", "প্যারামিটার")])
def test_search_finds_hindi_and_bengali_words_on_their_own_pages(server: str, browser: object, lang: str, word: str) -> None:
    hrefs = _search_results(browser, server, word)
    assert any(f"book/{lang}/" in h for h in hrefs) and any(f"notebooks/{lang}/" in h for h in hrefs), hrefs
    assert all(f"book/{lang}/" in h or f"notebooks/{lang}/" in h for h in hrefs), hrefs


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("origin", ["book/{lang}/index.html", "notebooks/{lang}/03_pruning.html"])
def test_search_from_a_page_lists_its_language_first(server: str, browser: object, lang: str, origin: str) -> None:
    """Searched from a chapter or a lab, the results in the page's language come first."""
    page = origin.format(lang=lang).replace("notebooks/en/", "notebooks/")
    hrefs = _search_results(browser, server, "BERT", referer=f"{server}/{page}")
    first = next(i for i, h in enumerate(hrefs) if not _in_page_language(h, lang))
    assert first > 4 and all(not _in_page_language(h, lang) for h in hrefs[first:]), (lang, hrefs[:first + 3])


def _in_page_language(href: str, lang: str) -> bool:
    """Whether a search result (a site path) is a chapter or a lab in ``lang``."""
    path = href.split("#")[0].split("?")[0]
    if lang == "en":
        return path.startswith("book/en/") or bool(re.fullmatch(r"notebooks/[^/]+\.html", path))
    return path.startswith((f"book/{lang}/", f"notebooks/{lang}/"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_calculator_runs_llmedu_in_the_browser(server: str, browser: object, lang: str) -> None:
    """Enter a model in the page's form; the total shown is the one llmedu computes in Python."""
    from llmedu import calculator, fmt

    visit = Visit(browser, server, f"book/{lang}/calculator.html")
    page = visit.page
    page.wait_for_selector("#llmedu-calculator .calculator-status[data-state='ready']", timeout=120_000)
    page.select_option("#llmedu-calculator select[name=preset]", "bert-base")
    values = {**calculator.presets()["bert-base"], "n_layers": 6, "seq_len": 256, "batch": 16, "dtype": "fp16"}
    for name in ("n_layers", "seq_len", "batch"):
        page.fill(f"#llmedu-calculator input[name={name}]", str(values[name]))
    page.select_option("#llmedu-calculator select[name=dtype]", "fp16")
    page.click("#llmedu-calculator button[type=submit]")
    page.wait_for_function("n => document.querySelector(\"#llmedu-calculator-output [data-key='total'] td:nth-child(3)\")"
                           "?.textContent === n",
                           arg=fmt.number(calculator.report(values)["total"], ",", lang), timeout=30_000)
    expected = calculator.report(values)["training"]["peak_corrected"]
    shown = page.locator("#llmedu-calculator-output [data-key='peak_corrected'] td").first.inner_text()
    assert shown == fmt.number(expected, ",", lang)
    page.fill("#llmedu-calculator input[name=n_heads]", "7")
    page.click("#llmedu-calculator button[type=submit]")
    page.wait_for_selector("#llmedu-calculator-output .calculator-error")
    assert "must be divisible by n_heads" in page.locator("#llmedu-calculator-output .calculator-error").inner_text()
    assert not visit.errors, visit.errors
    visit.close()


def test_the_calculator_works_from_the_keyboard_alone(server: str, browser: object) -> None:
    """Tab from the top of the page to the form, choose, type and submit with keys only: the report appears."""
    from llmedu import calculator, fmt

    visit = Visit(browser, server, "book/en/calculator.html")
    page = visit.page
    page.wait_for_selector("#llmedu-calculator .calculator-status[data-state='ready']", timeout=120_000)
    focused = "() => document.activeElement && (document.activeElement.name || '') + '|' + " \
              "(document.activeElement.closest('#llmedu-calculator') ? 'form' : '')"
    for _ in range(200):  # the header's and the sidebar's links come first
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "preset|form":
            break
    assert page.evaluate(focused) == "preset|form", "Tab never reached the calculator's first field"
    page.keyboard.press("End")  # the last preset in the list, chosen with a key
    chosen = page.eval_on_selector("#llmedu-calculator select[name=preset]", "e => e.value")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "n_layers|form":
            break
    assert page.evaluate(focused) == "n_layers|form", "Tab did not lead from the preset to the number of layers"
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")  # submits the form
    values = {**calculator.presets()[chosen], "n_layers": 3}
    page.wait_for_function("n => document.querySelector(\"#llmedu-calculator-output [data-key='total'] td:nth-child(3)\")"
                           "?.textContent === n", arg=fmt.number(calculator.report(values)["total"], ",", "en"),
                           timeout=30_000)
    assert not visit.errors, visit.errors
    visit.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_decoder_calculator_reads_a_pasted_config(server: str, browser: object, lang: str) -> None:
    """Paste a Llama config.json into the page's second form; every number shown is llmedu's in Python."""
    from llmedu import calculator_decoders, fmt, units

    config = json.loads(calculator_decoders.presets()["llama-3-8b"])
    config.update(num_hidden_layers=16, num_key_value_heads=4, vocab_size=32000)
    values = {"config": json.dumps(config), **calculator_decoders.defaults(), "seq_len": 2048, "batch": 4,
              "weights": "nf4_double_quant"}
    expected = calculator_decoders.report(values)
    number = lambda value, spec=",": fmt.number(value, spec, lang)  # noqa: E731
    form, out = "#llmedu-decoder-calculator", "#llmedu-decoder-calculator-output"
    visit = Visit(browser, server, f"book/{lang}/calculator.html")
    page = visit.page
    page.wait_for_selector(f"{form} .calculator-status[data-state='ready']", timeout=120_000)
    page.fill(f"{form} textarea[name=config]", values["config"])
    for name in ("seq_len", "batch"):
        page.fill(f"{form} input[name={name}]", str(values[name]))
    page.select_option(f"{form} select[name=weights]", values["weights"])
    page.click(f"{form} button[type=submit]")
    page.wait_for_function("n => document.querySelector(\"#llmedu-decoder-calculator-output [data-key='total'] "
                           "td:nth-child(3)\")?.textContent === n", arg=number(expected["total"]), timeout=30_000)
    def cells(table: str, key: str) -> list[str]:
        return page.locator(f"{out} [data-table='{table}'] [data-key='{key}'] td").all_inner_texts()

    for key, value in expected["components"].items():
        assert cells("parameters", key)[1] == number(value), key
    for key, value in expected["memory"].items():
        assert cells("memory", key)[0] == number(value), key
    for scenario, found in expected["fit"].items():
        assert cells("fit", scenario) == [number(found["bytes"] / units.GiB, ",.1f"),
                                   ", ".join(number(size) for size in found["fits"]) or "-"], scenario
    for device, bound in expected["speed"].items():
        shown = cells("speed", device)
        assert (shown[0], shown[2]) == (number(bound["tokens_per_second"], ",.1f"),
                                        number(bound["prefill_tokens_per_second"], ",.0f")), device
    page.fill(f"{form} textarea[name=config]", "{not json")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{out} .calculator-error")
    assert "is not JSON" in page.locator(f"{out} .calculator-error").inner_text()
    assert not visit.errors, visit.errors
    visit.close()
