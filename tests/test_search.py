"""Hyperparameter search: the scikit-learn estimator, the fixed split, Optuna's study and its cost."""

from __future__ import annotations

import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from llmedu.lab import data, models, search, tokenizer, train


def _texts_and_labels(n: int) -> tuple[list[str], list[int]]:
    examples = data.generate(n, seed=5)
    return [e.text for e in examples], [e.label for e in examples]


def test_classifier_is_a_scikit_learn_estimator_that_trains_and_predicts() -> None:
    estimator = search.BertClassifier(learning_rate=2e-3, batch_size=16, epochs=1)
    assert clone(estimator).get_params() == estimator.get_params()
    texts, labels = _texts_and_labels(48)
    predictions = estimator.fit(texts, labels).predict(texts[:10])
    assert predictions.shape == (10,) and set(predictions.tolist()) <= {0, 1}
    assert len(estimator.history_) == 1


def test_grid_search_trains_each_configuration_once_on_the_fixed_split() -> None:
    texts, labels = _texts_and_labels(40)
    grid = GridSearchCV(search.BertClassifier(epochs=1), {"learning_rate": [1e-3, 2e-3], "batch_size": [16]},
                        cv=search.fixed_split(32, 8), refit=False, error_score="raise")
    grid.fit(texts, labels)
    assert len(grid.cv_results_["params"]) == 2
    assert "split1_test_score" not in grid.cv_results_  # one split, not folds


def test_fixed_split_trains_on_the_first_and_validates_on_the_rest() -> None:
    (train_index, validation_index), = list(search.fixed_split(3, 2).split())
    assert train_index.tolist() == [0, 1, 2] and validation_index.tolist() == [3, 4]
    with pytest.raises(ValueError, match="n_train must be"):
        search.fixed_split(0, 2)


def test_objective_needs_the_three_hyperparameters_and_two_values_each() -> None:
    with pytest.raises(ValueError, match="space lacks \\['epochs'\\]"):
        search.objective({}, space={"learning_rate": [1e-3, 2e-3], "batch_size": [32]})
    with pytest.raises(ValueError, match="at least two values of epochs"):
        search.objective({}, space={"learning_rate": [1e-3, 2e-3], "batch_size": [32], "epochs": [3]})


def _toy(trial) -> float:  # noqa: ANN001 - an Optuna trial
    """A cheap objective with its best at batch 32, large rates and many epochs."""
    lr = trial.suggest_float("learning_rate", 5e-4, 2e-3, log=True)
    batch = trial.suggest_categorical("batch_size", [32, 64, 128])
    epochs = trial.suggest_int("epochs", 2, 4)
    return (batch == 32) * 0.5 + lr * 100 + epochs * 0.01


def test_seeded_study_repeats_and_finds_the_toy_optimum_region() -> None:
    first, second = (search.study(_toy, n_trials=12, seed=3) for _ in range(2))
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert first.best_params["batch_size"] == 32


def test_real_objective_reports_epochs_and_keeps_models() -> None:
    _, _, encoded = train.prepare_data(data.load_splits({"train": 64, "validation": 16, "test": 8}))
    kept: dict[int, object] = {}
    space = {"learning_rate": [1e-3, 2e-3], "batch_size": [32, 64], "epochs": [1, 2]}
    finished = search.study(search.objective(encoded, space=space, keep=kept), n_trials=2, seed=0)
    for trial in finished.trials:
        assert trial.user_attrs["epochs_trained"] == trial.params["epochs"] == len(trial.intermediate_values)
    assert sorted(kept) == [0, 1]


def test_importance_points_at_the_hyperparameter_that_decides() -> None:
    points = [{"learning_rate": lr, "batch_size": bs, "epochs": ep, "value": 0.9 if bs == 32 else 0.5}
              for lr in search.GRID["learning_rate"] for bs in search.GRID["batch_size"] for ep in search.GRID["epochs"]]
    importance = search.importances(search.grid_as_study(points))
    assert max(importance, key=importance.get) == "batch_size"
    assert importance == search.importances(search.grid_as_study(points))  # seeded


def test_epoch_hook_sees_each_record_and_can_stop_training() -> None:
    _, _, encoded = train.prepare_data(data.load_splits({"train": 32, "validation": 8, "test": 8}))
    seen = []

    def stop_after_first(record: dict[str, float]) -> None:
        seen.append(record["epoch"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train.train(models.build_model("narrow", 72), encoded["train"], train.TrainConfig(epochs=3),
                    validation=encoded["validation"], progress=False, on_epoch=stop_after_first)
    assert seen == [1]


def test_encoding_texts_needs_one_label_per_text() -> None:
    with pytest.raises(ValueError, match="got 2 texts but 1 labels"):
        tokenizer.encode_texts(tokenizer.build_tokenizer(), ["good", "bad"], [1])
    with pytest.raises(ValueError, match="at least one text"):
        tokenizer.encode_texts(tokenizer.build_tokenizer(), [], [])


def test_random_search_odds_equal_those_of_every_draw_counted() -> None:
    """The exact formula against enumerating every draw, on values with ties."""
    import itertools
    import statistics

    values = [0.48, 0.5, 0.5, 0.61, 0.75, 0.9, 0.93, 0.93, 0.95]
    for budget in (1, 3, 5, 9):
        bests = sorted(max(draw) for draw in itertools.combinations(values, budget))
        hit, median = search.random_search_odds(values, budget, target=0.93)
        assert hit == pytest.approx(sum(b >= 0.93 for b in bests) / len(bests))
        assert median == statistics.median_low(bests)
    with pytest.raises(ValueError, match="budget must be at most the number of values"):
        search.random_search_odds(values, budget=10, target=0.9)
