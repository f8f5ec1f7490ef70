"""Knowledge distillation: a small student trained on a teacher's softened outputs and the labels.

:func:`distillation_loss` is the loss of Hinton et al. (2015), as DistilBERT used it for its
soft targets: the KL divergence between the teacher's and the student's distributions at
temperature ``T``, scaled by ``T**2`` so that its gradients keep their size as ``T`` changes,
mixed with the usual cross-entropy on the labels. :func:`with_teacher_logits` adds the teacher's
logits to the training data once, so that training the student (through
:func:`llmedu.lab.train.train` with :func:`loss_fn`) never runs the teacher.

For language models, whose teacher gives a distribution over a whole vocabulary at every token,
:func:`top_k_distillation_loss` keeps only the teacher's ``k`` largest logits per token
(:func:`teacher_top_k`), renormalised over those ``k``: 64 of SmolLM2's 49,152 tokens are a few
megabytes for a book's worth of text, where the full logits would be gigabytes.

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
    t, alpha = checks.positive_number("temperature", temperature), _check_alpha(alpha)
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                    reduction="batchmean", log_target=True) * t * t
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number from 0 to 1, got {alpha!r}")
    return alpha


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


def top_k_distillation_loss(student_logits: torch.Tensor, teacher_values: torch.Tensor, teacher_indices: torch.Tensor,
                            labels: torch.Tensor, temperature: float = 1.0, alpha: float = 0.5) -> torch.Tensor:
    r"""Token-level distillation of a language model from the teacher's ``k`` largest logits, averaged over tokens.

    ``student_logits`` has shape (..., vocabulary); ``teacher_values`` and ``teacher_indices`` (...,
    k), the teacher's largest logits at the same positions and which tokens they belong to;
    ``labels`` (...), the tokens that came next. With :math:`p` the teacher's softmax at
    temperature :math:`T` over its ``k`` tokens and :math:`q` the student's over the whole
    vocabulary,

    .. math:: \mathcal{L} = \alpha\,T^2 \sum_{j \in \text{top-}k} p_j \ln\frac{p_j}{q_j}
              + (1 - \alpha)\,\mathrm{CE}(z_s, y)

    With ``k`` the whole vocabulary this is :func:`distillation_loss` per token.

    >>> z = torch.tensor([[0.0, 2.0, 1.0]])
    >>> values, indices = z.topk(3)
    >>> round(float(top_k_distillation_loss(z, values, indices, torch.tensor([1]), alpha=1.0)), 6)  # the student agrees
    0.0
    """
    t, alpha = checks.positive_number("temperature", temperature), _check_alpha(alpha)
    if teacher_values.shape != teacher_indices.shape or teacher_values.shape[:-1] != student_logits.shape[:-1]:
        raise ValueError(f"the teacher's top-k values {tuple(teacher_values.shape)} and indices "
                         f"{tuple(teacher_indices.shape)} must have the student's positions {tuple(student_logits.shape[:-1])}")
    log_q = F.log_softmax(student_logits / t, dim=-1)
    loss = 0.0
    if alpha > 0:
        log_p = F.log_softmax(teacher_values / t, dim=-1)
        kl = (log_p.exp() * (log_p - log_q.gather(-1, teacher_indices))).sum(dim=-1)
        loss = alpha * t * t * kl.mean()
    if alpha < 1:
        log_q_hard = log_q if t == 1 else F.log_softmax(student_logits, dim=-1)
        loss = loss + (1 - alpha) * -log_q_hard.gather(-1, labels.unsqueeze(-1)).mean()
    return loss


def top_k_loss_fn(temperature: float = 1.0, alpha: float = 0.5) -> LossFn:
    """A loss for :func:`llmedu.lab.train.train` on a causal LM's batches: each position's logits
    against the next token (``labels``) and the teacher's ``teacher_values``/``teacher_indices``
    (see :func:`teacher_top_k`); ``alpha`` = 0 needs no teacher (training on the text alone)."""
    checks.positive_number("temperature", temperature)
    _check_alpha(alpha)

    def loss(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        logits = logits[:, :-1]  # the last position has no next token in the window
        if alpha == 0:
            values = indices = logits[..., :0]
        elif "teacher_values" in batch:
            values, indices = batch["teacher_values"], batch["teacher_indices"]
        else:
            raise ValueError("the training data has no teacher_values: add them with teacher_top_k(teacher, input_ids)")
        return top_k_distillation_loss(logits, values, indices.long(), batch["labels"], temperature, alpha)

    return loss


def teacher_top_k(teacher: torch.nn.Module, input_ids: torch.Tensor, k: int = 64,
                  batch_size: int = 8) -> dict[str, torch.Tensor]:
    """The teacher's ``k`` largest next-token logits at every position but the last of each row of
    ``input_ids``: ``teacher_values`` (rows, length - 1, k) and ``teacher_indices`` (int32), largest first."""
    k, batch_size = checks.positive_int("k", k), checks.positive_int("batch_size", batch_size)
    values, indices = [], []
    teacher.eval()
    with torch.inference_mode():
        for start in range(0, len(input_ids), batch_size):
            logits = teacher(input_ids=input_ids[start:start + batch_size], use_cache=False).logits[:, :-1].float()
            top = logits.topk(k, dim=-1)
            values.append(top.values)
            indices.append(top.indices.int())
    return {"teacher_values": torch.cat(values), "teacher_indices": torch.cat(indices)}
