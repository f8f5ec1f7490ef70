"""Numbers in the four languages (llmedu.fmt.number) and the label table (llmedu.i18n)."""

from __future__ import annotations

import random

import pytest

from llmedu import fmt, i18n


def read_back(text: str, lang: str) -> float:
    """A localized number read back as a float (the inverse of fmt.number for plain specs)."""
    text = text.replace(fmt.NBSP + "%", "%").removesuffix("%")
    if lang == "cs":
        return float(text.replace(fmt.NBSP, "").replace(",", "."))
    return float(text.replace(",", ""))


@pytest.mark.parametrize("lang", fmt.LANGUAGES)
def test_every_language_writes_the_same_value(lang: str) -> None:
    rng = random.Random(0)
    for _ in range(500):
        value = rng.choice([rng.randint(-10**12, 10**12), rng.uniform(-1e7, 1e7)])
        for spec in (",", ",.2f", ".3f", ",.0f"):
            assert read_back(fmt.number(value, spec, lang), lang) == pytest.approx(float(format(value, spec.replace(",", ""))))


@pytest.mark.parametrize(("value", "indian"), [(999, "999"), (1000, "1,000"), (100000, "1,00,000"),
                                               (12345678, "1,23,45,678"), (-1234567, "-12,34,567"),
                                               (1234567.891, "12,34,567.89")])
def test_indian_grouping(value: float, indian: str) -> None:
    spec = ",.2f" if isinstance(value, float) else ","
    assert fmt.number(value, spec, "hi") == fmt.number(value, spec, "bn") == indian


def test_czech_decimal_comma_spaces_and_percent() -> None:
    assert fmt.number(1234567.891, ",.2f", "cs") == "1\u00a0234\u00a0567,89"
    assert fmt.number(0.055, ".1%", "cs") == "5,5\u00a0%"
    assert fmt.number(12345, "", "cs") == "12345"  # grouping only where the spec asks for it


def test_bad_input_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'; allowed: en, cs, bn, hi"):
        fmt.number(1, "", "fr")
    with pytest.raises(ValueError, match="formats numbers"):
        fmt.number("12", "", "cs")
    with pytest.raises(ValueError, match="bad format specification"):
        fmt.number(1.5, ".2q", "en")


def test_every_translated_label_keeps_its_meaningful_parts() -> None:
    for lang in fmt.LANGUAGES[1:]:
        for english, translated in i18n.table(lang).items():
            for part in ("16N", "12N", "fp32", "128"):
                if part in english:
                    assert part in translated, (lang, english, translated)
