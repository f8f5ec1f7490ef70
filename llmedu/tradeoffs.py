"""Trade-offs between quality and cost: which of several models are worth keeping.

:func:`pareto_front` keeps the models that no other model beats on both counts (at least as
accurate and at most as costly, and strictly better on one). The structural optimization chapter
draws it for accuracy against latency and against size.

Pure Python; leaves out weighting the two counts into one score (that is a choice, not a fact).
"""

from __future__ import annotations

from collections.abc import Mapping


def pareto_front(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """Names of the points ``(cost, quality)`` that no other point dominates, cheapest first.

    A point dominates another if its cost is lower or equal and its quality higher or equal, and
    at least one of the two strictly. Structural optimization chapter.

    >>> pareto_front({"a": (1, 0.90), "b": (2, 0.95), "c": (3, 0.93), "d": (2, 0.90)})
    ['a', 'b']
    """
    if not points:
        raise ValueError("pareto_front needs at least one point")

    def dominated(name: str) -> bool:
        cost, quality = points[name]
        return any(c <= cost and q >= quality and (c < cost or q > quality)
                   for other, (c, q) in points.items() if other != name)

    return sorted((name for name in points if not dominated(name)), key=lambda name: points[name])
