"""The translation table of the labels that code draws: plot axes, legends, titles, glued words.

A chapter's code is the same in every language; it writes its labels in English through a
translator, ``_ = i18n.translator(LANG)``, and ``_("batch size")`` returns the label in the
page's language. The table is one JSON file per language in ``llmedu/translations/``, keyed by
the English label. A label may hold ``str.format`` fields (``"{n} layers"``): the translation
keeps the same fields.

Covers: looking labels up, and failing loudly (a ``ValueError`` naming the file to edit) when a
translation is missing, so that no English label slips into a translated page. Leaves out prose
(written by hand in each page) and code output (the same in every language, see
:mod:`llmedu.fmt`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from llmedu import checks
from llmedu.fmt import LANGUAGES

TRANSLATIONS = Path(__file__).with_name("translations")


@lru_cache(maxsize=None)
def table(lang: str) -> dict[str, str]:
    """English label -> its translation in ``lang`` (empty for English).

    >>> table("en")
    {}
    """
    checks.choice("language", lang, LANGUAGES)
    if lang == "en":
        return {}
    return json.loads((TRANSLATIONS / f"{lang}.json").read_text(encoding="utf-8"))


def translate(label: str, lang: str) -> str:
    """``label`` (English) in ``lang``.

    >>> translate("batch size", "en")
    'batch size'
    >>> translate("no such label", "cs")
    Traceback (most recent call last):
    ...
    ValueError: no cs translation of the label 'no such label': add it to llmedu/translations/cs.json
    """
    if lang == "en" and isinstance(label, str):
        return label
    try:
        return table(lang)[label]
    except KeyError:
        raise ValueError(f"no {lang} translation of the label {label!r}: add it to llmedu/translations/{lang}.json") from None


def translator(lang: str) -> Callable[[str], str]:
    """A function that translates labels into ``lang`` (by convention named ``_`` in the chapters).

    >>> _ = translator("en")
    >>> _("{n} layers").format(n=4)
    '4 layers'
    """
    checks.choice("language", lang, LANGUAGES)
    return lambda label: translate(label, lang)
