"""Knowledge distillation: a small student trained on a teacher's softened outputs and the labels.

:func:`distillation_loss` is the loss of Hinton et al. (2015), as DistilBERT used it for its
soft targets: the KL divergence between the teacher's and the student's distributions at
temperature ``T``, scaled by ``T**2`` so that its gradients keep their size as ``T`` changes,
mixed with the usual cross-entropy on the labels. :func:`with_teacher_logits` adds the teacher's
logits to the training data once, so that training the student (through
:func:`llmedu.lab.train.train` with :func:`loss_fn`) never runs the teacher.

Leaves out DistilBERT's other two losses (masked language modelling and the cosine between
hidden states), its initialisation from the teacher's layers, and distilling intermediate layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from llmedu import checks
from llmedu.lab.train import Batch, LossFn, logits_of


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float = 2.0, alpha: float = 0.5) -> torch.Tensor:
    r"""The distillation loss, averaged over the batch.

    .. math:: \mathcal{L} = \alpha\,T^2\,\mathrm{KL}\big(\mathrm{softmax}(z_t/T)\,\|\,\mathrm{softmax}(z_s/T)\big)
              + (1 - \alpha)\,\mathrm{CE}(z_s, y)

    ``alpha`` = 0 is training on the labels alone; ``alpha`` = 1 on the teacher alone.
    Distillation chapter.

    >>> z = torch.tensor([[2.0, -1.0]])
    >>> float(distillation_loss(z, z, torch.tensor([0]), alpha=1.0))   # the student agrees with its teacher
    0.0
    """
    t = checks.positive_number("temperature", temperature)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number from 0 to 1, got {alpha!r}")
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                    reduction="batchmean", log_target=True) * t * t
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard


def loss_fn(temperature: float = 2.0, alpha: float = 0.5) -> LossFn:
    """A loss for :func:`llmedu.lab.train.train` that reads the teacher's logits from the batch."""
    checks.positive_number("temperature", temperature)

    def loss(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        if "teacher_logits" not in batch:
            raise ValueError("the training data has no teacher_logits: add them with with_teacher_logits(data, teacher)")
        return distillation_loss(logits, batch["teacher_logits"], batch["labels"], temperature, alpha)

    return loss


def with_teacher_logits(encoded: Batch, teacher: torch.nn.Module) -> Batch:
    """``encoded`` with the teacher's logits for every example added as ``teacher_logits``."""
    return {**encoded, "teacher_logits": logits_of(teacher, encoded)}
