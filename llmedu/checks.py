"""Argument checks shared by every llmedu module.

Each check returns the value it accepted (so it can be used inline) and raises a
``ValueError`` whose message names the argument, what it received and what is allowed.
It covers whole counts, positive numbers and choices from a fixed set; it does not
coerce types (``12.0`` is not accepted as a layer count, ``True`` is not a number).
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is a whole number >= 1, else raise ``ValueError``.

    >>> positive_int("layers", 12)
    12
    >>> positive_int("layers", 0)
    Traceback (most recent call last):
    ...
    ValueError: layers must be a whole number >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value}")
    return int(value)


def nonnegative_int(name: str, value: object) -> int:
    """Return ``value`` if it is a whole number >= 0, else raise ``ValueError``.

    >>> nonnegative_int("token types", 0)
    0
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r} ({type(value).__name__})")
    if value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value}")
    return int(value)


def positive_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number > 0, else raise ``ValueError``.

    >>> positive_number("alpha", 0.076)
    0.076
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number > 0, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return number


def fraction(name: str, value: object) -> float:
    """Return ``value`` as a float if 0 < value < 1, else raise ``ValueError``.

    >>> fraction("loss reduction", 0.1)
    0.1
    """
    number = positive_number(name, value)
    if number >= 1:
        raise ValueError(f"{name} must be a fraction between 0 and 1 (exclusive), got {value}")
    return number


def share(name: str, value: object) -> float:
    """Return ``value`` as a float if 0 <= value < 1 (a share that may be zero), else raise ``ValueError``.

    >>> share("sparsity", 0)
    0.0
    >>> share("sparsity", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: sparsity must be a share from 0 (inclusive) to 1 (exclusive), got 1.0
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a share from 0 (inclusive) to 1 (exclusive), got {value!r}")
    return float(value)


def choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` listing them.

    >>> choice("dtype", "fp16", ["fp32", "fp16"])
    'fp16'
    """
    options = list(allowed)
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(str, options))}")
    return str(value)
