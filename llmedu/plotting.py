"""One figure style for the book, in every language: fonts that have the glyphs of the page's script.

matplotlib's default font (DejaVu Sans) has no Devanagari or Bengali glyphs. The package ships
Noto Sans Devanagari and Noto Sans Bengali (SIL Open Font License, ``llmedu/fonts/OFL.txt``);
:func:`use` registers them and puts the page's script first in the font fallback list, with
DejaVu Sans behind it for Latin letters, digits and symbols. matplotlib 3.11 and later shapes
both scripts (conjuncts, vowel signs) with its bundled libraqm; older versions draw the glyphs
unshaped, which is why the labs' extra asks for ``matplotlib>=3.11``.

Covers fonts and the figure defaults shared by the chapters. Leaves out the figures themselves
(each chapter draws its own, with labels from :mod:`llmedu.i18n`).
"""

from __future__ import annotations

from pathlib import Path

from llmedu import checks
from llmedu.fmt import LANGUAGES

FONTS = Path(__file__).with_name("fonts")
#: Font families to try, in order, for each language's pages.
FAMILIES = {
    "en": ["DejaVu Sans"],
    "cs": ["DejaVu Sans"],
    "bn": ["Noto Sans Bengali", "DejaVu Sans"],
    "hi": ["Noto Sans Devanagari", "DejaVu Sans"],
}


def register_fonts() -> list[str]:
    """Register the bundled fonts with matplotlib; return their family names.

    >>> sorted(register_fonts())
    ['Noto Sans Bengali', 'Noto Sans Devanagari']
    """
    from matplotlib import font_manager

    names = []
    for path in sorted(FONTS.glob("*.ttf")):
        font_manager.fontManager.addfont(str(path))
        names.append(font_manager.FontProperties(fname=str(path)).get_name())
    return names


def use(lang: str) -> None:
    """Set matplotlib up for figures in ``lang``: its fonts first, and the book's defaults.

    >>> use("hi")
    >>> import matplotlib
    >>> matplotlib.rcParams["font.family"][:2]
    ['Noto Sans Devanagari', 'DejaVu Sans']
    """
    import matplotlib

    checks.choice("language", lang, LANGUAGES)
    register_fonts()
    matplotlib.rcParams["font.family"] = FAMILIES[lang]
    # The minus sign as a hyphen: DejaVu's U+2212 is fine, but the Indic fonts come first there.
    matplotlib.rcParams["axes.unicode_minus"] = False
