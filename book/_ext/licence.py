"""The book's licence on every page, in the page's language, and the licence texts on the site.

A Sphinx extension:

* every page's footer says, in the page's language, that the text and figures are under
  CC BY 4.0 and the code under MIT, and links to both licence texts and to the third-party
  notices (template ``book/_templates/licence.html``);
* the build publishes ``LICENSE``, ``LICENSE-CC-BY-4.0`` and ``THIRD_PARTY_NOTICES.md`` under
  ``licence/`` as plain-text files, so that the site carries its licences with it, offline.

Leaves out the licences themselves (the files at the repository's root) and the check that the
notices list every third-party file the site and the package ship (``tests/test_licence.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sphinx.application import Sphinx

from languages import page_language

ROOT = Path(__file__).resolve().parents[2]
#: Repository file -> its name on the site, under ``licence/`` (``.txt``: every browser shows it).
PUBLISHED = {"LICENSE": "LICENSE.txt", "LICENSE-CC-BY-4.0": "LICENSE-CC-BY-4.0.txt",
             "THIRD_PARTY_NOTICES.md": "THIRD_PARTY_NOTICES.txt"}
#: The footer's words in each language: (text and figures, code, third-party notices).
FOOTER = {
    "en": ("Text and figures", "Code", "Third-party notices"),
    "cs": ("Text a obrázky", "Kód", "Licence komponent třetích stran"),
    "bn": ("লেখা ও চিত্র", "কোড", "তৃতীয় পক্ষের উপাদানের লাইসেন্স"),
    "hi": ("टेक्स्ट और चित्र", "कोड", "थर्ड-पार्टी कंपोनेंट के लाइसेंस"),
}


def footer(lang: str, href: Any) -> Markup:
    """The licence line in ``lang``; ``href(name)`` gives the URL of a file under ``licence/``."""
    text, code, notices = (escape(word) for word in FOOTER.get(lang, FOOTER["en"]))
    cc, mit, third = (href(PUBLISHED[name]) for name in ("LICENSE-CC-BY-4.0", "LICENSE", "THIRD_PARTY_NOTICES.md"))
    return Markup(f'{text}: <a rel="license" href="{cc}">CC BY 4.0</a> · {code}: <a rel="license" href="{mit}">MIT</a>'
                  f' · <a href="{third}">{notices}</a>')


def _add_footer(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    lang = page_language(pagename) or app.config.language
    context["licence_footer"] = footer(lang, lambda name: context["pathto"](f"licence/{name}", 1))


def _publish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.outdir) / "licence"
    folder.mkdir(exist_ok=True)
    for source, name in PUBLISHED.items():
        shutil.copyfile(ROOT / source, folder / name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _add_footer)
    app.connect("build-finished", _publish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
