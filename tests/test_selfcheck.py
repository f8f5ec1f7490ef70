"""Self-checks: right answers pass, the usual wrong answers fail with their hint, nothing raises."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from llmedu.lab import selfcheck


def signed_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The usual mistake: ranking by signed value instead of magnitude."""
    amount = round(sparsity * weight.numel())
    mask = torch.ones_like(weight)
    mask.view(-1)[torch.topk(weight.view(-1), amount, largest=False).indices] = 0
    return mask


def truncating_quantizer(x: torch.Tensor) -> tuple[torch.Tensor, float]:
    scale = float(x.abs().max()) / 127
    return torch.trunc(x / scale).to(torch.int32), scale


def max_not_abs_quantizer(x: torch.Tensor) -> tuple[torch.Tensor, float]:
    scale = float(x.max()) / 127
    return torch.round(x / scale).clamp(-127, 127).to(torch.int32), scale


def loss_without_t_squared(student, teacher, labels, temperature, alpha):  # noqa: ANN001, ANN201
    soft = F.kl_div(F.log_softmax(student / temperature, dim=-1), F.softmax(teacher / temperature, dim=-1),
                    reduction="batchmean")
    return alpha * soft + (1 - alpha) * F.cross_entropy(student, labels)


@pytest.mark.parametrize(("check", "wrong", "hint"), [
    (selfcheck.check_magnitude_mask, signed_mask, "rank by absolute value"),
    (selfcheck.check_int8_quantizer, truncating_quantizer, "do not truncate"),
    (selfcheck.check_int8_quantizer, max_not_abs_quantizer, "x.abs().max()"),
    (selfcheck.check_distillation_loss, loss_without_t_squared, "multiply the KL term by T * T"),
])
def test_usual_mistakes_fail_with_their_hint(check, wrong, hint, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    assert check(wrong) is False
    out = capsys.readouterr().out
    assert "FAILED" in out and hint in out


def test_unwritten_function_says_so_and_an_error_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    def unwritten(weight, sparsity):  # noqa: ANN001, ANN202
        raise NotImplementedError

    def broken(weight, sparsity):  # noqa: ANN001, ANN202
        return weight.reshape(-1)[10]

    assert selfcheck.check_magnitude_mask(unwritten) is False
    assert "not written yet" in capsys.readouterr().out
    assert selfcheck.check_magnitude_mask(broken) is False
    assert "your function raised IndexError" in capsys.readouterr().out


def test_a_wrong_shape_or_type_is_named() -> None:
    assert selfcheck.check_magnitude_mask(lambda w, s: (w.abs() > 0).float().reshape(-1)) is False
    assert selfcheck.check_int8_quantizer(lambda x: x) is False
