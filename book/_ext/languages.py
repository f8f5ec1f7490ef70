"""One site, four languages: a Sphinx extension that keeps each page inside its language.

For every page of a language (a chapter under ``book/<lang>/``; a lab: ``notebooks/NN_name`` in
English, ``notebooks/<lang>/NN_name`` translated) it

* sets ``<html lang>`` to the page's language (the language chooser stays in the build's
  default, English);
* offers a language switcher leading to the same page in the other languages, or to that
  language's landing page where the page does not exist (yet), plus ``hreflang`` alternates;
* keeps the previous/next links inside the page's language;
* shows only the page's own language's parts (its chapters, its labs) in the sidebar (a page of
  no language, such as the language chooser, shows every language's chapters and no labs).

It keeps the Colab/Binder launch buttons on the labs (``.ipynb`` pages) only: the chapters are
MyST Markdown, which Colab cannot open. It also drops sphinx-thebe's scripts (jupyter-book always loads the extension; the book does
not use live code cells, and its configuration names a CDN), so that no page refers to a
host outside the site. It leaves translation of the theme's own interface strings (Search,
Contents) to Sphinx's single build language.
"""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup
from markupsafe import Markup
from sphinx.application import Sphinx

#: Language code -> its name in its own language (also the caption of its part in _toc.yml).
LANGUAGES = {"en": "English", "cs": "Čeština", "bn": "বাংলা", "hi": "हिन्दी"}
#: The caption of each language's part of labs in _toc.yml.
LAB_PARTS = {"en": "Labs", "cs": "Laboratorní cvičení", "bn": "ল্যাব", "hi": "लैब"}
#: The switcher's label, in each language.
SWITCHER_LABEL = {"en": "Language", "cs": "Jazyk", "bn": "ভাষা", "hi": "भाषा"}


def page_language(docname: str | None) -> str | None:
    """The language of a chapter (``book/<lang>/...``) or a lab (``notebooks/[<lang>/]NN_name``), else ``None``."""
    parts = (docname or "").split("/")
    if len(parts) >= 3 and parts[0] == "book" and parts[1] in LANGUAGES:
        return parts[1]
    if parts[0] == "notebooks" and len(parts) == 2:
        return "en"
    if parts[0] == "notebooks" and len(parts) == 3 and parts[1] in LANGUAGES and parts[1] != "en":
        return parts[1]
    return None


def in_language(docname: str, lang: str) -> str | None:
    """Where the same chapter or lab lives in ``lang`` (whether or not it exists), or ``None``."""
    own = page_language(docname)
    if own is None:
        return None
    name = docname.split("/")[-1]
    if docname.startswith("book/"):
        return f"book/{lang}/" + docname.split("/", 2)[2]
    return f"notebooks/{name}" if lang == "en" else f"notebooks/{lang}/{name}"


def counterpart(docname: str, lang: str, found_docs: set[str]) -> str:
    """The same page in ``lang``, or that language's landing page if there is none."""
    candidate = in_language(docname, lang)
    return candidate if candidate in found_docs else f"book/{lang}/index"


def _set_language(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    lang = page_language(pagename)
    shown = lang or app.config.language
    context["language"] = shown
    found = app.env.found_docs
    targets = {code: counterpart(pagename, code, found) for code in LANGUAGES}
    context["language_switcher"] = [
        {"code": code, "name": name, "href": context["pathto"](targets[code]), "current": code == lang}
        for code, name in LANGUAGES.items()
    ]
    context["language_switcher_label"] = SWITCHER_LABEL.get(shown, SWITCHER_LABEL["en"])
    context["language_current_name"] = LANGUAGES.get(lang, "") if lang else ""
    if lang:
        alternates = "".join(f'<link rel="alternate" hreflang="{code}" href="{context["pathto"](targets[code])}" />\n'
                             for code in LANGUAGES if code != lang and page_language(targets[code]))
        context["metatags"] = context.get("metatags", "") + alternates
    # Previous/next links stay within the page's language.
    relations = app.env.collect_relations().get(pagename)
    if relations:
        _, prev_doc, next_doc = relations
        for key, doc in (("prev", prev_doc), ("next", next_doc)):
            if doc and page_language(doc) != lang:
                context[key] = None


def _only_own_part(html: str, lang: str | None) -> str:
    """The sidebar with only ``lang``'s parts; for a page of no language, every language's chapters, no labs."""
    soup = BeautifulSoup(html, "html.parser")
    part_language = {**{name: code for code, name in LANGUAGES.items()}, **{name: code for code, name in LAB_PARTS.items()}}
    for caption in soup.select("p.caption"):
        text = caption.get_text(strip=True)
        owner = part_language.get(text)
        if owner is not None and (owner != lang if lang else text in LAB_PARTS.values()):
            following = caption.find_next_sibling()
            if following is not None and following.name == "ul":
                following.decompose()
            caption.decompose()
    return str(soup)


def _filter_sidebar(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    lang = page_language(pagename)
    generate = context.get("generate_toctree_html")
    if generate is None:
        return

    def generate_own_language(*args: Any, **kwargs: Any) -> Markup:
        return Markup(_only_own_part(str(generate(*args, **kwargs)), lang))

    context["generate_toctree_html"] = generate_own_language


def _is_remote_or_thebe(script: Any) -> bool:
    name = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "://" in name or "sphinx-thebe" in name or "THEBE_JS_URL" in body


def _drop_remote_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    context["script_files"] = [js for js in context.get("script_files", []) if not _is_remote_or_thebe(js)]


def _launch_only_notebooks(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if not str(context.get("page_source_suffix", "")).endswith(".ipynb") and "header_buttons" in context:
        context["header_buttons"] = [b for b in context["header_buttons"] if b.get("label") != "launch-buttons"]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _set_language, priority=400)
    app.connect("html-page-context", _drop_remote_scripts, priority=900)
    # After sphinx-book-theme (priority 501) has added its launch buttons.
    app.connect("html-page-context", _launch_only_notebooks, priority=600)
    # After the pydata theme (priority 500) has put its toctree function in the context.
    app.connect("html-page-context", _filter_sidebar, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
