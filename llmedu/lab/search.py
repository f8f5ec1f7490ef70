"""Hyperparameter search for the labs' classifiers: a grid through scikit-learn, a search through Optuna.

:class:`BertClassifier` wraps the labs' training loop in scikit-learn's estimator interface, so
``GridSearchCV`` can run the article's kind of grid for real (with one fixed validation split
instead of cross-validation). :func:`study` runs an Optuna search over the same ranges with a
seeded TPE sampler and a median pruner that stops trials whose validation accuracy lags.
A search's cost is counted in epochs trained (each epoch processes every training example once,
whatever the batch size), so a trial stopped early counts for the epochs it ran.
:func:`random_search_odds` tells, from a finished grid alone, what a random search of the same
budget would have found: the baseline a smarter search has to beat.

Leaves out cross-validation (one training per configuration is what the lab can afford),
parallel and distributed search, and ``Trainer.hyperparameter_search`` (the labs train with
their own loop, not with ``Trainer``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, ClassifierMixin

from llmedu import checks
from llmedu.lab import models, tokenizer, train

if TYPE_CHECKING:
    import numpy
    import optuna

#: The grid of the methods article: fine-tuning rates for a pretrained BERT, 27 configurations.
ARTICLE_GRID = {"learning_rate": [1e-5, 2e-5, 3e-5], "batch_size": [8, 16, 32], "num_train_epochs": [3, 5, 10]}
#: The same shape of grid (three values each of learning rate, batch size and epochs) with rates
#: for training the labs' tiny models from scratch.
GRID = {"learning_rate": [5e-4, 1e-3, 2e-3], "batch_size": [32, 64, 128], "epochs": [2, 3, 4]}


class BertClassifier(ClassifierMixin, BaseEstimator):
    """A labs' BERT of ``shape`` trained from scratch by ``fit(texts, labels)``, as a scikit-learn classifier."""

    def __init__(self, shape: str = "narrow", learning_rate: float = 1e-3, batch_size: int = 32,
                 epochs: int = 4, seed: int = 0) -> None:
        self.shape = shape
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.seed = seed

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> BertClassifier:
        """Train a fresh model on ``texts`` and their 0/1 ``labels``."""
        import numpy

        config = train.TrainConfig(epochs=self.epochs, learning_rate=self.learning_rate,
                                   batch_size=self.batch_size, seed=self.seed)
        self.model_ = models.build_model(self.shape, len(tokenizer.load_vocab()), seed=self.seed)
        self.history_ = train.train(self.model_, _encoded(tuple(texts), tuple(int(y) for y in labels)), config,
                                    progress=False)
        self.classes_ = numpy.array([0, 1])
        return self

    def predict(self, texts: Sequence[str]) -> numpy.ndarray:
        """The predicted label (0 or 1) of each text."""
        encoded = _encoded(tuple(texts), (0,) * len(texts))
        return train.logits_of(self.model_, encoded).argmax(dim=1).numpy()


@functools.lru_cache(maxsize=4)
def _encoded(texts: tuple[str, ...], labels: tuple[int, ...]) -> train.Batch:
    """The texts encoded by the labs' tokenizer, kept: a grid encodes the same texts for every configuration."""
    return tokenizer.encode_texts(tokenizer.build_tokenizer(), texts, labels)


def fixed_split(n_train: int, n_validation: int) -> Any:
    """scikit-learn's splitter for "train on the first ``n_train``, validate on the next ``n_validation``"."""
    from sklearn.model_selection import PredefinedSplit

    checks.positive_int("n_train", n_train)
    checks.positive_int("n_validation", n_validation)
    return PredefinedSplit([-1] * n_train + [0] * n_validation)


def _bounds(values: Sequence[float], name: str) -> tuple[float, float]:
    if len(values) < 2:
        raise ValueError(f"the space needs at least two values of {name}, got {list(values)}")
    return min(values), max(values)


def objective(encoded: Mapping[str, train.Batch], shape: str | models.Shape = "narrow",
              space: Mapping[str, Sequence[float]] = GRID, seed: int = 0,
              keep: dict[int, Any] | None = None) -> Any:
    """An Optuna objective: train with the trial's hyperparameters, return the validation accuracy.

    ``keep``, if given, receives each finished trial's model under the trial's number.
    The trial's settings are drawn from :func:`distributions` of ``space``. Each epoch's
    validation accuracy is reported, so a pruner can stop the trial.
    """
    import optuna

    rate, batch, epochs = distributions(space).values()
    vocab_size = len(tokenizer.load_vocab())

    def run(trial: optuna.Trial) -> float:
        config = train.TrainConfig(
            learning_rate=trial.suggest_float("learning_rate", rate.low, rate.high, log=True),
            batch_size=trial.suggest_categorical("batch_size", batch.choices),
            epochs=trial.suggest_int("epochs", epochs.low, epochs.high), seed=seed)
        model = models.build_model(shape, vocab_size, seed=seed)

        def report(record: dict[str, float]) -> None:
            trial.report(record["val_accuracy"], int(record["epoch"]))
            trial.set_user_attr("epochs_trained", int(record["epoch"]))
            if trial.should_prune():
                raise optuna.TrialPruned()

        history = train.train(model, encoded["train"], config, validation=encoded["validation"],
                              progress=False, on_epoch=report)
        if keep is not None:
            keep[trial.number] = model
        return history[-1]["val_accuracy"]

    return run


def study(objective_fn: Any, n_trials: int, seed: int = 0, startup_trials: int = 4) -> optuna.Study:
    """Run ``n_trials`` of ``objective_fn`` to maximize it, seeded, pruning trials below the median.

    The first ``startup_trials`` are drawn at random; after that TPE proposes. Once
    ``startup_trials`` trials have finished, a trial whose best validation accuracy so far is
    below the median of the finished trials' accuracies at the same epoch is stopped; not before
    its second epoch (after one, every model is still at chance).
    """
    import optuna

    checks.positive_int("n_trials", n_trials)
    _quiet()
    result = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=checks.nonnegative_int("seed", seed),
                                           n_startup_trials=checks.positive_int("startup_trials", startup_trials)),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=2))
    result.optimize(objective_fn, n_trials=n_trials)
    return result


def distributions(space: Mapping[str, Sequence[float]] = GRID) -> dict[str, Any]:
    """The search space for the grid's values: the learning rate on a log scale between the
    smallest and the largest, the batch size among the values, the epochs from fewest to most."""
    import optuna.distributions as d

    missing = {"learning_rate", "batch_size", "epochs"} - set(space)
    if missing:
        raise ValueError(f"space lacks {sorted(missing)}; it needs learning_rate, batch_size and epochs")
    return {"learning_rate": d.FloatDistribution(*_bounds(space["learning_rate"], "learning_rate"), log=True),
            "batch_size": d.CategoricalDistribution(list(space["batch_size"])),
            "epochs": d.IntDistribution(*(int(b) for b in _bounds(space["epochs"], "epochs")))}


def grid_as_study(points: Sequence[Mapping[str, float]], space: Mapping[str, Sequence[float]] = GRID) -> optuna.Study:
    """A finished grid (dicts with the three hyperparameters and ``value``) as an Optuna study, for its tools."""
    import optuna

    _quiet()
    result = optuna.create_study(direction="maximize")
    shape = distributions(space)
    for point in points:
        result.add_trial(optuna.trial.create_trial(params={name: point[name] for name in shape},
                                                   distributions=shape, value=point["value"]))
    return result


def importances(finished: optuna.Study, seed: int = 0) -> dict[str, float]:
    """How much of the variation of validation accuracy each hyperparameter explains (fANOVA, seeded)."""
    import optuna

    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=checks.nonnegative_int("seed", seed))
    return {name: float(value) for name, value in
            optuna.importance.get_param_importances(finished, evaluator=evaluator).items()}


def random_search_odds(values: Sequence[float], budget: int, target: float) -> tuple[float, float]:
    """What a random search over a finished grid would have found, without training anything.

    Drawing ``budget`` of the grid's configurations at random (without replacement), returns the
    probability that the best of them reaches ``target`` and the median of their best value,
    both exact: the best of the draw is at most the ``i``-th smallest value with probability
    C(i, budget) / C(n, budget).

    >>> random_search_odds([0.5, 0.6, 0.7, 0.9], budget=2, target=0.9)
    (0.5, 0.7)
    """
    checks.positive_int("budget", budget)
    ordered = sorted(float(v) for v in values)
    if budget > len(ordered):
        raise ValueError(f"budget must be at most the number of values ({len(ordered)}), got {budget}")
    draws = math.comb(len(ordered), budget)
    below = sum(v < target for v in ordered)
    at_most = [math.comb(i + 1, budget) / draws for i in range(len(ordered))]
    median = next(v for v, p in zip(ordered, at_most) if p >= 0.5)
    return 1 - math.comb(below, budget) / draws, median


def _quiet() -> None:
    """Optuna logs every trial at INFO level; the labs print their own tables."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
