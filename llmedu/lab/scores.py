"""Accuracy and F1 of predicted labels: the quality numbers every lab reports.

F1 is that of the positive class (label 1), as GLUE reports it for binary tasks. Plain
Python on lists, so the baselines and the models share one definition.
"""

from __future__ import annotations

from collections.abc import Sequence


def accuracy_f1(predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    """Share of correct predictions, and F1 of the positive class.

    >>> accuracy_f1([1, 1, 0, 0], [1, 0, 0, 1])
    {'accuracy': 0.5, 'f1': 0.5}
    """
    if len(predictions) != len(labels) or not labels:
        raise ValueError(f"predictions and labels must be non-empty and of equal length, "
                         f"got {len(predictions)} and {len(labels)}")
    true_pos = sum(p == 1 and y == 1 for p, y in zip(predictions, labels))
    denominator = sum(p == 1 for p in predictions) + sum(y == 1 for y in labels)
    return {"accuracy": sum(p == y for p, y in zip(predictions, labels)) / len(labels),
            "f1": 2 * true_pos / denominator if denominator else 0.0}
