"""Distillation: the loss against its definition, and the teacher's logits travelling with the data."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from llmedu.lab import data, distillation, models, train


def test_loss_mixes_the_soft_and_the_hard_term() -> None:
    student = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    teacher = torch.tensor([[3.0, -1.0], [0.5, 0.0]])
    labels = torch.tensor([0, 1])
    t = 4.0
    p_teacher = F.softmax(teacher / t, dim=-1)
    kl = (p_teacher * (p_teacher.log() - F.log_softmax(student / t, dim=-1))).sum(dim=-1).mean()
    ce = F.cross_entropy(student, labels)
    for alpha in (0.0, 0.3, 1.0):
        expected = alpha * t * t * kl + (1 - alpha) * ce
        assert math.isclose(float(distillation.distillation_loss(student, teacher, labels, t, alpha)), float(expected), rel_tol=1e-6)


def test_bad_temperature_and_alpha_are_refused() -> None:
    z, y = torch.zeros(1, 2), torch.tensor([0])
    with pytest.raises(ValueError, match="temperature must be"):
        distillation.distillation_loss(z, z, y, temperature=0)
    with pytest.raises(ValueError, match="alpha must be a number from 0 to 1"):
        distillation.distillation_loss(z, z, y, alpha=1.5)
    with pytest.raises(ValueError, match="no teacher_logits"):
        distillation.loss_fn()(z, {"labels": y})


def test_teacher_logits_travel_through_batches_and_training() -> None:
    _, _, encoded = train.prepare_data(data.load_splits({"train": 64, "validation": 8, "test": 8}))
    teacher = models.build_model("narrow", 72, seed=1)
    with_teacher = distillation.with_teacher_logits(encoded["train"], teacher)
    assert torch.equal(with_teacher["teacher_logits"], train.logits_of(teacher, encoded["train"]))
    for batch in train.batches(with_teacher, 16, torch.randperm(64, generator=torch.Generator().manual_seed(0))):
        assert batch["teacher_logits"].shape == (len(batch["labels"]), 2)
    student = models.build_model("narrow", 72, seed=2)
    history = train.train(student, with_teacher, train.TrainConfig(epochs=2), loss_fn=distillation.loss_fn(2.0, 1.0), progress=False)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
