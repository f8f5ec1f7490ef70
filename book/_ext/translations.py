"""The translated pages: numbers in the page's language, and a notice where a page is behind English.

A Sphinx extension (and a small library for the tests and ``scripts/translation_status.py``).

* **Glued numbers.** It replaces MyST-NB's ``{glue:text}`` role by one that writes a glued number
  with :func:`llmedu.fmt.number` in the page's language (``0.949`` with ``:.1%`` is ``94.9%`` in
  English, ``94,9 %`` in Czech). Code is the same in every language, so every language shows the
  same value; text values and references to other pages are left to MyST-NB.
* **Kept in step.** Each translated page names, in its front matter, the English text it
  translates: ``translation_of: <the first 12 hex digits of the SHA-256 of book/en/<page>>``.
  Where the English page has changed since, the page opens with a notice in its own language
  that links to the English page. :func:`status` lists every page that is missing or behind.
* **Shared anchors.** Each section of a translated page also carries the anchor of the same
  section in English, so a link to a section works in all four languages.

Leaves out the language switcher and the sidebar (``languages.py``) and the prose itself.
"""

from __future__ import annotations

import hashlib
import re
from ast import literal_eval
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from myst_nb.core.variables import RetrievalError
from myst_nb.ext.glue.roles import PasteTextRole
from myst_nb.ext.glue.utils import retrieve_glue_data
from sphinx.application import Sphinx

from languages import in_language, page_language
from llmedu import fmt

BOOK = Path(__file__).resolve().parent.parent
TRANSLATED = tuple(lang for lang in fmt.LANGUAGES if lang != "en")
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
#: A MyST code cell: its opening line, its body (options and code), its closing fence.
CODE_CELL = re.compile(r"(```\{code-cell\}[^\n]*\n)(.*?)(```)", re.S)

#: The notice on a page whose English original has changed since it was translated.
BEHIND_NOTICE = {
    "cs": ("Překlad zaostává za anglickým originálem",
           "Anglická verze této stránky se od posledního překladu změnila. Aktuální znění najdete "
           "v [anglickém originálu]({link})."),
    "bn": ("এই অনুবাদ ইংরেজি মূল পাতার চেয়ে পুরোনো",
           "শেষ অনুবাদের পর এই পাতার ইংরেজি সংস্করণ বদলেছে। সর্বশেষ লেখাটি পাবেন "
           "[ইংরেজি মূল পাতায়]({link})।"),
    "hi": ("यह अनुवाद अंग्रेज़ी मूल से पीछे है",
           "पिछले अनुवाद के बाद इस पेज का अंग्रेज़ी संस्करण बदल गया है। ताज़ा पाठ "
           "[अंग्रेज़ी मूल पेज]({link}) पर पढ़ें।"),
}


# --- kept in step ----------------------------------------------------------------------------

def source_hash(page: str, book: Path | None = None) -> str:
    """The version of the English page ``page`` (e.g. ``"pruning.md"``): 12 hex digits of its SHA-256."""
    return hashlib.sha256(((book or BOOK) / "en" / page).read_bytes()).hexdigest()[:12]


def translated_from(text: str) -> str | None:
    """The ``translation_of`` hash in a page's front matter, or ``None``."""
    match = FRONT_MATTER.match(text)
    meta = yaml.safe_load(match.group(1)) if match else None
    value = meta.get("translation_of") if isinstance(meta, dict) else None
    return str(value) if value is not None else None


def status(book: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """For each translated language: the English pages it lacks (``missing``) and those it is ``behind``."""
    book = book or BOOK
    english = sorted(p.name for p in (book / "en").glob("*.md"))
    report = {}
    for lang in TRANSLATED:
        missing, behind = [], []
        for page in english:
            path = book / lang / page
            if not path.exists():
                missing.append(page)
            elif translated_from(path.read_text(encoding="utf-8")) != source_hash(page, book):
                behind.append(page)
        report[lang] = {"missing": missing, "behind": behind}
    return report


def with_behind_notice(text: str, lang: str, page: str) -> str:
    """``text`` with the notice after its first heading, if its English original has moved on."""
    if translated_from(text) == source_hash(page):
        return text
    title, body = BEHIND_NOTICE[lang]
    notice = (f"\n```{{admonition}} {title}\n:class: warning translation-behind\n\n"
              f"{body.format(link=f'../en/{page}')}\n```\n")
    return re.sub(r"^# .*\n", lambda m: m.group(0) + notice, text, count=1, flags=re.M)


def _add_behind_notice(app: Sphinx, docname: str, source: list[str]) -> None:
    lang = page_language(docname)
    page = docname.split("/")[-1] + ".md"
    if lang in TRANSLATED and (BOOK / "en" / page).exists():
        source[0] = with_behind_notice(source[0], lang, page)


# --- glued numbers in the page's language ------------------------------------------------------

def _glued_value(text: str, spec: str) -> object:
    """The value MyST-NB would format (its ``format_plain_text`` coercion), or the raw text."""
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        return text
    kind = spec[-1:] if spec else ""
    if kind in ("e", "E", "f", "F", "g", "G", "n", "%") and isinstance(value, (int, float)):
        return float(value)
    return value


class LocalizedPasteTextRole(PasteTextRole):
    """``{glue:text}`key:spec``` with numbers written by :func:`llmedu.fmt.number` in the page's language."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        key, _, spec = self.text.rpartition(":") if ":" in self.text else (self.text, "", "")
        if "::" in key or not key:
            return super().run()
        try:
            data = retrieve_glue_data(self.document, key).data.get("text/plain")
        except RetrievalError:
            return super().run()
        value = _glued_value(data, spec) if data is not None else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or spec.endswith("s"):
            return super().run()
        text = fmt.number(value, spec, page_language(self.document.settings.env.docname) or "en")
        node = nodes.inline(text, text, classes=["pasted-text"])
        self.set_source_info(node)
        return [node], []


# --- anchors shared with English --------------------------------------------------------------

def _share_english_anchors(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each section of a translated page (a chapter or a lab) the anchor of its English counterpart, too.

    The trees mirror each other heading by heading (a test checks it), so the n-th section of a
    translated page is the n-th section of the English one: a link to ``page.html#anchor`` then
    works in every language. (Hindi and Bengali headings would otherwise get ids like ``id1``.)
    """
    lang = page_language(docname)
    english = in_language(docname, "en")
    if lang not in TRANSLATED or english not in app.env.all_docs:
        return
    theirs = [section["ids"][0] for section in app.env.get_doctree(english).findall(nodes.section) if section["ids"]]
    mine = list(doctree.findall(nodes.section))
    if len(mine) != len(theirs):
        return
    for section, anchor in zip(mine, theirs):
        if anchor not in section["ids"]:
            section["ids"].append(anchor)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", _share_english_anchors)
    app.add_role_to_domain("glue", "text", LocalizedPasteTextRole(), override=True)
    app.connect("source-read", _add_behind_notice)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
