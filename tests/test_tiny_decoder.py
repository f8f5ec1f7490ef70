"""The tiny decoder of Lab 13 and distillation from a teacher's top-k logits: the loss against its
definition, the teacher's top-k, training on the text alone and distilled, and the cache.

A byte-level stand-in for SmolLM2's tokenizer and a few windows keep training to seconds; Lab 13
runs the real thing under nbval.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from llmedu import decoders
from llmedu.lab import distillation, tiny_decoder


class ByteTokenizer:
    """Each byte of the UTF-8 text is a token: 256 of them, the first also the special tokens."""

    bos_token_id = eos_token_id = pad_token_id = 0

    def __len__(self) -> int:
        return 256

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": list(text.encode("utf-8"))}


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch, tmp_path) -> ByteTokenizer:
    """Lab 13's decoder on bytes, 4 windows of 32 tokens, 2 epochs, its cache in a temporary folder."""
    monkeypatch.setenv("LLMEDU_CACHE", str(tmp_path))
    monkeypatch.setattr(tiny_decoder, "WINDOW", 32)
    monkeypatch.setattr(tiny_decoder, "TRAINING_WINDOWS", 4)
    monkeypatch.setattr(tiny_decoder, "TOP_K", 8)
    monkeypatch.setattr(tiny_decoder, "TRAINING", dataclasses.replace(tiny_decoder.TRAINING, epochs=2, batch_size=2))
    return ByteTokenizer()


def test_with_every_token_kept_the_loss_is_the_classifiers_distillation_loss_per_token() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 10), torch.randn(2, 3, 10)
    labels = torch.randint(10, (2, 3))
    values, indices = teacher.topk(10, dim=-1)
    for temperature, alpha in ((1.0, 0.5), (2.0, 0.3), (1.0, 1.0), (3.0, 0.0)):
        expected = distillation.distillation_loss(student.view(6, 10), teacher.view(6, 10), labels.view(6), temperature, alpha)
        got = distillation.top_k_distillation_loss(student, values, indices, labels, temperature, alpha)
        assert math.isclose(float(got), float(expected), rel_tol=1e-5)


def test_the_soft_term_sees_only_the_teachers_top_k_renormalised() -> None:
    student, teacher = torch.tensor([[0.5, 0.0, 1.0, -1.0]]), torch.tensor([[2.0, 1.0, -3.0, 0.0]])
    values, indices = teacher.topk(2, dim=-1)  # tokens 0 and 1
    p = F.softmax(values, dim=-1)
    log_q = F.log_softmax(student, dim=-1)[:, :2]
    expected = float((p * (p.log() - log_q)).sum())
    got = distillation.top_k_distillation_loss(student, values, indices, torch.tensor([2]), alpha=1.0)
    assert math.isclose(float(got), expected, rel_tol=1e-6)


def test_bad_inputs_are_refused_with_what_is_allowed() -> None:
    z = torch.zeros(1, 3, 5)
    values, indices = z[..., :2], torch.zeros(1, 3, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="must have the student's positions"):
        distillation.top_k_distillation_loss(z, values[:, :2], indices[:, :2], torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="alpha must be a number from 0 to 1"):
        distillation.top_k_loss_fn(alpha=2)
    with pytest.raises(ValueError, match="no teacher_values"):
        distillation.top_k_loss_fn(alpha=0.5)(z, {"labels": torch.zeros(1, 2, dtype=torch.long)})


def test_the_loss_predicts_each_next_token_and_skips_the_last_position() -> None:
    torch.manual_seed(1)
    logits, ids = torch.randn(2, 4, 7), torch.randint(7, (2, 4))
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, 7), ids[:, 1:].reshape(-1))
    got = distillation.top_k_loss_fn(alpha=0.0)(logits, {"labels": ids[:, 1:]})
    assert math.isclose(float(got), float(expected), rel_tol=1e-6)


def test_teacher_top_k_holds_the_teachers_largest_next_token_logits(small: ByteTokenizer) -> None:
    teacher = tiny_decoder.build(small, seed=3).eval()
    ids = tiny_decoder.training_ids(small)
    top = distillation.teacher_top_k(teacher, ids, k=5, batch_size=3)
    with torch.inference_mode():
        expected = teacher(input_ids=ids).logits[:, :-1].topk(5, dim=-1)
    assert top["teacher_values"].shape == top["teacher_indices"].shape == (4, 31, 5)
    assert torch.allclose(top["teacher_values"], expected.values, atol=1e-5)
    assert torch.equal(top["teacher_indices"].long(), expected.indices)


def test_the_count_of_llmedu_decoders_is_the_models(small: ByteTokenizer) -> None:
    count = decoders.from_config(tiny_decoder.config(small).to_dict(), output_head="config")
    assert count.total == sum(p.numel() for p in tiny_decoder.build(small).parameters())


def test_training_is_deterministic_cached_and_distillation_changes_it(small: ByteTokenizer) -> None:
    first = tiny_decoder.trained(small, use_cache=False)
    again = tiny_decoder.trained(small)
    assert first.source == again.source == "trained"
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()))
    cached = tiny_decoder.trained(small)
    assert cached.source == "cache" and cached.history == again.history
    assert all(torch.equal(a, b) for a, b in zip(cached.model.state_dict().values(), again.model.state_dict().values()))
    assert len(again.history) == 2 and again.history[1]["train_loss"] < again.history[0]["train_loss"]

    teacher = tiny_decoder.build(small, seed=5).eval()
    distilled = tiny_decoder.trained(small, teacher=teacher)
    assert distilled.source == "trained"
    assert not torch.equal(distilled.model.model.embed_tokens.weight, again.model.model.embed_tokens.weight)
    assert tiny_decoder.trained(small, teacher=teacher).source == "cache"
    other_teacher = tiny_decoder.build(small, seed=6).eval()
    assert tiny_decoder.trained(small, teacher=other_teacher).source == "trained"


def test_the_held_out_text_follows_the_training_text_without_overlap(small: ByteTokenizer) -> None:
    training, held_out = tiny_decoder.training_ids(small), tiny_decoder.held_out_ids(small)
    whole = torch.tensor(small(tiny_decoder.language_model.calibration_text())["input_ids"])
    assert held_out.shape[1] == training.shape[1] == 32 and len(held_out) > 0
    assert torch.equal(torch.cat([training.reshape(-1), held_out.reshape(-1)]), whole[:(len(training) + len(held_out)) * 32])
