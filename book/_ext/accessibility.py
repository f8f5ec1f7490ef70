"""Accessible names for what the book's tools put on a page, in the page's language.

myst-nb draws a chapter's hidden code cell as ``<details>`` whose ``<summary>`` shows "Show code
cell source" and is named "Toggle hidden content" by an ``aria-label``: a speech user who says the
visible words finds no control by that name (axe-core's label-content-name-mismatch), and the words
were English on every page. This extension draws the summary without the label, so its name is the
visible prompt, and in the page's language. The theme's own buttons are fixed in
``book/_templates`` (``search-button-field.html``, ``theme-switcher.html``), the link colour in
``book/_static/accessibility.css``. ``tests/test_browser.py`` runs axe-core over every page.
Leaves out the theme's other English labels (Sphinx builds the site with one ``language``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput
from sphinx.application import Sphinx

from languages import page_language

#: myst-nb's default prompts ("Show code cell {type}", "Hide code cell {type}") in each translation.
PROMPTS = {
    "cs": {"Show code cell source": "Zobrazit kód buňky", "Hide code cell source": "Skrýt kód buňky",
           "Show code cell outputs": "Zobrazit výstup buňky", "Hide code cell outputs": "Skrýt výstup buňky",
           "Show code cell content": "Zobrazit obsah buňky", "Hide code cell content": "Skrýt obsah buňky"},
    "bn": {"Show code cell source": "সেলের কোড দেখান", "Hide code cell source": "সেলের কোড লুকান",
           "Show code cell outputs": "সেলের আউটপুট দেখান", "Hide code cell outputs": "সেলের আউটপুট লুকান",
           "Show code cell content": "সেলের বিষয়বস্তু দেখান", "Hide code cell content": "সেলের বিষয়বস্তু লুকান"},
    "hi": {"Show code cell source": "सेल का कोड दिखाएँ", "Hide code cell source": "सेल का कोड छिपाएँ",
           "Show code cell outputs": "सेल का आउटपुट दिखाएँ", "Hide code cell outputs": "सेल का आउटपुट छिपाएँ",
           "Show code cell content": "सेल की सामग्री दिखाएँ", "Hide code cell content": "सेल की सामग्री छिपाएँ"},
}


def prompt(text: str, lang: str | None) -> str:
    """myst-nb's prompt ``text`` in ``lang`` (as it is where no translation is known)."""
    return PROMPTS.get(lang or "en", {}).get(text, text)


def visit_hidden_cell(self: Any, node: HideCodeCellNode) -> None:
    """myst-nb's ``visit_HideCellInput``, with the summary named by its visible, translated prompt."""
    lang = page_language(self.builder.current_docname)
    self.body.append(f'<details class="admonition hide {" ".join(node["classes"])}">\n<summary>\n'
                     f'<p class="collapsed admonition-title">{escape(prompt(node["prompt_show"], lang))}</p>\n'
                     f'<p class="expanded admonition-title">{escape(prompt(node["prompt_hide"], lang))}</p>\n'
                     "</summary>\n")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("myst_nb")
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_HideCellInput))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
