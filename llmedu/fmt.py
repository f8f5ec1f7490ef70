"""Formatting for the chapters and the labs: numbers in each of the book's languages, and text tables.

Covers two things:

* :func:`number`, the one function that writes a number in the prose of a page, in the page's
  language. It takes a Python format specification (``",.0f"``, ``".3f"``, ``".1%"``) and then
  follows the language's conventions, one documented choice per language:

  ====  ===================  =====================  ====================  ==========
  lang  decimal separator    thousands grouping     percent               digits
  ====  ===================  =====================  ====================  ==========
  en    ``.``                ``1,234,567``          ``12.5%``             Latin
  cs    ``,``                ``1 234 567`` (NBSP)   ``12,5 %`` (NBSP)     Latin
  bn    ``.``                ``12,34,567`` (Indian) ``12.5%``             Latin
  hi    ``.``                ``12,34,567`` (Indian) ``12.5%``             Latin
  ====  ===================  =====================  ====================  ==========

  Latin digits in Hindi and Bengali, as in the book's source articles, in India's official
  usage for Hindi (the "international form of Indian numerals") and in the code and math beside
  them. Grouping is applied only where the specification asks for it (a ``,`` in it), as in
  Python.

* :func:`table`, plain-text tables for the outputs of code cells: the first column
  left-aligned, the others right-aligned, ``int`` cells with thousands separators.

Leaves out: code output. What a code cell prints is Python's own output and is the same in
every language; only the prose around it is localized (the chapters' glued numbers go through
:func:`number`, by the book's Sphinx extension).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from numbers import Real

from llmedu import checks

#: The book's languages, English first.
LANGUAGES = ("en", "cs", "bn", "hi")

NBSP = "\u00a0"
_NUMBER = re.compile(r"(?P<int>\d[\d,]*)(?P<frac>\.\d+)?")


def _indian_grouping(digits: str) -> str:
    """``1234567`` -> ``12,34,567``: the last three digits, then groups of two."""
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        head, groups = head[:-2], [head[-2:], *groups]
    return ",".join([g for g in [head, *groups] if g] + [tail]) if head or groups else tail


def _localize_number(match: re.Match[str], lang: str) -> str:
    whole, frac = match["int"], match["frac"] or ""
    grouped = "," in whole
    digits = whole.replace(",", "")
    if lang == "cs":
        if grouped:
            digits = NBSP.join(re.findall(r"\d{1,3}(?=(?:\d{3})*$)", digits))
        return digits + frac.replace(".", ",")
    if lang in ("bn", "hi") and grouped:
        digits = _indian_grouping(digits)
    elif grouped:
        digits = whole
    return digits + frac


def number(value: Real, spec: str = "", lang: str = "en") -> str:
    """``value`` formatted by the Python format ``spec``, in the conventions of ``lang``.

    >>> number(123383808, ",", "en"), number(123383808, ",", "hi")
    ('123,383,808', '12,33,83,808')
    >>> number(123383808, ",", "cs")
    '123\\xa0383\\xa0808'
    >>> number(0.9489, ".1%", "cs"), number(0.9489, ".1%", "bn")
    ('94,9\\xa0%', '94.9%')
    >>> number(2.5e-3, ".1e", "cs")
    '2,5e-03'
    >>> number(3.7, ".2f", "de")
    Traceback (most recent call last):
    ...
    ValueError: unknown language 'de'; allowed: en, cs, bn, hi
    """
    checks.choice("language", lang, LANGUAGES)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"number() formats numbers, got {value!r} ({type(value).__name__})")
    try:
        text = format(value, spec)
    except ValueError as error:
        raise ValueError(f"bad format specification {spec!r} for {value!r}: {error}") from None
    if lang == "en":
        return text
    # Only the mantissa is localized: the exponent of 2.5e-03 has no separators.
    body, exponent, percent = re.fullmatch(r"(.*?)([eE][+-]?\d+)?(%?)", text).groups()
    localized = _NUMBER.sub(lambda m: _localize_number(m, lang), body) + (exponent or "")
    if percent:
        localized += (NBSP + "%") if lang == "cs" else "%"
    return localized


def table(rows: Sequence[Sequence[object]], header: Sequence[object] | None = None) -> str:
    """``rows`` (after an optional ``header``) as aligned text columns.

    >>> print(table([["bert-base", 109482240], ["tiny", 431234]], ["model", "parameters"]))
    model       parameters
    bert-base  109,482,240
    tiny           431,234
    """
    lines = ([list(header)] if header is not None else []) + [list(row) for row in rows]
    if not lines:
        raise ValueError("table needs at least one row")
    cells = [[f"{c:,}" if isinstance(c, int) and not isinstance(c, bool) else str(c) for c in line] for line in lines]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
                     for line in cells)
