"""One figure style for the book, in every language: fonts that have the glyphs of the page's script.

matplotlib's default font (DejaVu Sans) has no Devanagari or Bengali glyphs. The package ships
Noto Sans Devanagari and Noto Sans Bengali (SIL Open Font License, ``llmedu/fonts/OFL.txt``);
:func:`use` registers them and puts the page's script first in the font fallback list, with
DejaVu Sans behind it for Latin letters, digits and symbols. matplotlib 3.11 and later shapes
both scripts (conjuncts, vowel signs) with its bundled libraqm; older versions draw the glyphs
unshaped, which is why the labs' extra asks for ``matplotlib>=3.11``.

For Czech, the default tick labels (matplotlib's ``ScalarFormatter``) get the decimal comma
(``0,25``) of :func:`llmedu.fmt.number`, through a figure hook that :func:`use` installs.

Covers fonts and the figure defaults shared by the chapters. Leaves out the figures themselves
(each chapter draws its own, with labels from :mod:`llmedu.i18n`) and tick labels that a chapter
formats itself.
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
    hooks = [h for h in matplotlib.rcParams["figure.hooks"] if h != _DECIMAL_COMMA_HOOK]
    matplotlib.rcParams["figure.hooks"] = hooks + ([_DECIMAL_COMMA_HOOK] if lang == "cs" else [])


_DECIMAL_COMMA_HOOK = "llmedu.plotting:decimal_comma"


def decimal_comma(figure: object) -> None:
    """Give ``figure``'s default tick labels a decimal comma, whatever axes it gets later.

    A ``figure.hooks`` entry (pyplot calls it with each new figure): just before every draw, each
    axis whose major formatter is matplotlib's plain ``ScalarFormatter`` gets a comma-writing one.

    >>> use("cs")
    >>> import matplotlib.pyplot as plt
    >>> figure, ax = plt.subplots()
    >>> _ = ax.plot([0, 0.5], [1.5, 2.5]); figure.canvas.draw()
    >>> [t.get_text() for t in ax.get_xticklabels()][1:4]
    ['0,0', '0,1', '0,2']
    >>> use("en"); plt.close("all")
    """
    from matplotlib.ticker import Formatter, ScalarFormatter

    class CommaFormatter(Formatter):
        """The labels of the axis' own ScalarFormatter (offset and exponent included), with commas."""

        def __init__(self, inner: ScalarFormatter) -> None:
            self.inner = inner

        def set_axis(self, axis: object) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: object) -> None:
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return self.inner(x, pos).replace(".", ",")

        def format_data_short(self, value: float) -> str:
            return self.inner.format_data_short(value).replace(".", ",")

        def get_offset(self) -> str:
            return self.inner.get_offset().replace(".", ",")

    draw = figure.draw

    def draw_with_commas(renderer: object) -> None:
        for ax in figure.axes:
            for axis in (ax.xaxis, ax.yaxis):
                if type(axis.get_major_formatter()) is ScalarFormatter:
                    axis.set_major_formatter(CommaFormatter(axis.get_major_formatter()))
        draw(renderer)

    figure.draw = draw_with_commas
