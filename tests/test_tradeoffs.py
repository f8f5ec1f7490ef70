"""The Pareto front: dominated points go, ties and the single point stay, bad input is refused."""

import pytest

from llmedu import tradeoffs


def test_pareto_front_keeps_only_undominated_points() -> None:
    points = {"small": (1.0, 0.70), "mid": (2.0, 0.90), "mid-worse": (2.0, 0.85), "big": (4.0, 0.90), "best": (8.0, 0.95)}
    assert tradeoffs.pareto_front(points) == ["small", "mid", "best"]


def test_equal_points_do_not_dominate_each_other() -> None:
    assert tradeoffs.pareto_front({"a": (1.0, 0.5), "b": (1.0, 0.5)}) == ["a", "b"]
    assert tradeoffs.pareto_front({"only": (3.0, 0.1)}) == ["only"]
    with pytest.raises(ValueError, match="at least one point"):
        tradeoffs.pareto_front({})
