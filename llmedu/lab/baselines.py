"""What the tiny BERT must beat: the majority class, and TF-IDF with logistic regression.

The TF-IDF model sees which words and word pairs occur, not their order beyond pairs, so
contrast ("A but B" against "B but A": the same words, opposite labels) defeats it; the gap
between it and the transformer is the lesson of the generated data. Needs scikit-learn.
Leaves out tuning the baselines (defaults, fixed seed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from llmedu.lab.data import Example
from llmedu.lab.scores import accuracy_f1


def majority_class(train: Sequence[Example], test: Sequence[Example]) -> dict[str, float]:
    """Accuracy and F1 of always predicting the most common training label (ties: the smaller label).

    >>> ex = [Example("a", 1, "single"), Example("b", 1, "single"), Example("c", 0, "single")]
    >>> majority_class(ex, ex)["accuracy"]
    0.6666666666666666
    """
    counts = Counter(e.label for e in train)
    label = max(sorted(counts), key=lambda k: counts[k])
    return accuracy_f1([label] * len(test), [e.label for e in test])


def fit_tfidf(train: Sequence[Example], ngrams: tuple[int, int] = (1, 2)):
    """A scikit-learn pipeline, TF-IDF of words and word pairs then logistic regression, fitted on ``train``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=ngrams), LogisticRegression(max_iter=1000, random_state=0))
    return model.fit([e.text for e in train], [e.label for e in train])


def tfidf_logistic_regression(train: Sequence[Example], test: Sequence[Example],
                              ngrams: tuple[int, int] = (1, 2)) -> dict[str, float]:
    """Accuracy and F1 on ``test`` of :func:`fit_tfidf` trained on ``train``."""
    predictions = fit_tfidf(train, ngrams).predict([e.text for e in test]).tolist()
    return accuracy_f1(predictions, [e.label for e in test])
