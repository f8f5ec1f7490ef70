"""Self-checks for the labs' exercises: a reader writes a small function, a check on tiny tensors says whether it is right.

Each check calls the reader's function on a few small inputs chosen to catch the usual mistakes,
compares the answer with the book's own implementation (:mod:`llmedu.lab.pruning`,
:mod:`llmedu.lab.quantization`, :mod:`llmedu.lab.distillation`), and prints one line per case:
passed, or what was expected, what came back and a hint. It returns ``True`` only when every
case passes. A wrong answer never raises: an exception from the reader's function is reported
as that case failing, and ``NotImplementedError`` as "not written yet".

Leaves out grading and hidden tests: the cases are printed, the point is to learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from llmedu.lab import distillation, pruning, quantization


@dataclass(frozen=True)
class Case:
    """One input for the reader's function, what it tests, and the hint shown when it fails."""

    name: str
    args: tuple[Any, ...]
    hint: str


def _run(title: str, fn: Callable[..., Any], cases: list[Case], expected: Callable[..., Any],
         same: Callable[[Any, Any], str | None]) -> bool:
    """Run every case; ``same(answer, reference)`` returns None when they agree, else what differs."""
    print(f"{title}:")
    passed = 0
    for case in cases:
        try:
            answer = fn(*case.args)
        except NotImplementedError:
            print("  not written yet: replace the `raise NotImplementedError` with your code, then run this check again")
            return False
        except Exception as error:  # the reader's bug, reported, not raised
            print(f"  FAILED  {case.name}: your function raised {type(error).__name__}: {error}\n          hint: {case.hint}")
            continue
        problem = same(answer, expected(*case.args))
        if problem is None:
            passed += 1
            print(f"  passed  {case.name}")
        else:
            print(f"  FAILED  {case.name}: {problem}\n          hint: {case.hint}")
    print(f"{passed} of {len(cases)} cases passed" + (": well done." if passed == len(cases) else "."))
    return passed == len(cases)


def _tensor_problem(answer: Any, reference: torch.Tensor, atol: float = 0.0) -> str | None:
    if not isinstance(answer, torch.Tensor):
        return f"expected a tensor, got {type(answer).__name__}"
    if answer.shape != reference.shape:
        return f"expected shape {tuple(reference.shape)}, got {tuple(answer.shape)}"
    if not torch.allclose(answer.double(), reference.double(), atol=atol, rtol=0):
        return f"expected {reference.tolist()}, got {answer.tolist()}"
    return None


def check_magnitude_mask(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> bool:
    """Check ``fn(weight, sparsity)``: a 0/1 mask of ``weight``'s shape that zeroes the ``sparsity``
    share of entries with the smallest magnitude (absolute value).

    >>> check_magnitude_mask(pruning.magnitude_mask)
    magnitude mask:
      passed  half of a 2x2 matrix
      passed  magnitude, not value: negative weights can be large
      passed  sparsity 0 keeps everything
      passed  a share of a larger matrix (3 of 12 removed)
    4 of 4 cases passed: well done.
    True
    """
    cases = [
        Case("half of a 2x2 matrix", (torch.tensor([[0.1, -3.0], [2.0, -0.5]]), 0.5),
             "sort by |weight| and zero the smallest half; keep the shape of the input"),
        Case("magnitude, not value: negative weights can be large", (torch.tensor([-5.0, 0.2, -0.1, 4.0]), 0.5),
             "rank by absolute value (weight.abs()), not by the signed value"),
        Case("sparsity 0 keeps everything", (torch.tensor([[1.0, -2.0, 3.0]]), 0.0),
             "with sparsity 0 the mask is all ones"),
        Case("a share of a larger matrix (3 of 12 removed)", (torch.arange(1.0, 13.0).reshape(3, 4) * torch.tensor([1.0, -1.0, 1.0, -1.0]), 0.25),
             "the number of zeros is round(sparsity * number of entries), counted over the whole matrix"),
    ]
    return _run("magnitude mask", fn, cases, pruning.magnitude_mask, _tensor_problem)


def check_int8_quantizer(fn: Callable[[torch.Tensor], tuple[torch.Tensor, float]]) -> bool:
    """Check ``fn(x)``: symmetric per-tensor int8, returning the integers and the scale.

    The scale is ``max|x| / 127`` and the integers ``round(x / scale)``, between -127 and 127.

    >>> check_int8_quantizer(lambda x: quantization.quantize(x)[:2])
    int8 quantizer:
      passed  the example of the quantization chapter
      passed  the largest magnitude is negative
      passed  rounding to the nearest integer
    3 of 3 cases passed: well done.
    True
    """
    def reference(x: torch.Tensor) -> tuple[torch.Tensor, float]:
        q, scale, _ = quantization.quantize(x, bits=8, symmetric=True)
        return q, float(scale)

    def problem(answer: Any, expected: tuple[torch.Tensor, float]) -> str | None:
        if not (isinstance(answer, tuple) and len(answer) == 2):
            return "expected a pair (integers, scale)"
        q, scale = answer
        if abs(float(scale) - expected[1]) > 1e-6 * expected[1]:
            return f"expected scale {expected[1]:.6g}, got {float(scale):.6g}"
        return _tensor_problem(q, expected[0])

    cases = [
        Case("the example of the quantization chapter", (torch.tensor([-1.0, 0.0, 0.5, 1.27]),),
             "scale = max|x| / 127, q = round(x / scale)"),
        Case("the largest magnitude is negative", (torch.tensor([-2.54, 1.0, 0.01]),),
             "use the largest absolute value, x.abs().max(), not x.max()"),
        Case("rounding to the nearest integer", (torch.tensor([1.27, 0.026, -0.014]),),
             "round to the nearest integer (torch.round), do not truncate"),
    ]
    return _run("int8 quantizer", fn, cases, reference, problem)


def check_distillation_loss(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, float], torch.Tensor]) -> bool:
    """Check ``fn(student_logits, teacher_logits, labels, temperature, alpha)`` against the distillation loss.

    >>> check_distillation_loss(distillation.distillation_loss)
    distillation loss:
      passed  alpha 0: the labels alone
      passed  alpha 1, T 1: the teacher alone
      passed  T 4: the soft term is multiplied by T squared
      passed  a mix over a batch of three
    4 of 4 cases passed: well done.
    True
    """
    student = torch.tensor([[1.0, -0.5], [0.2, 0.4], [-1.0, 2.0]])
    teacher = torch.tensor([[2.0, -1.0], [0.0, 1.5], [0.5, 0.5]])
    labels = torch.tensor([0, 1, 1])
    cases = [
        Case("alpha 0: the labels alone", (student, teacher, labels, 2.0, 0.0),
             "with alpha 0 the loss is the cross-entropy with the labels, averaged over the batch"),
        Case("alpha 1, T 1: the teacher alone", (student, teacher, labels, 1.0, 1.0),
             "KL(teacher || student) of the softmax outputs, summed over classes and averaged over the batch"),
        Case("T 4: the soft term is multiplied by T squared", (student, teacher, labels, 4.0, 1.0),
             "divide both logits by T before the softmax, and multiply the KL term by T * T"),
        Case("a mix over a batch of three", (student, teacher, labels, 2.0, 0.3),
             "alpha * soft term + (1 - alpha) * cross-entropy"),
    ]
    return _run("distillation loss", fn, cases, distillation.distillation_loss,
                lambda answer, reference: _tensor_problem(torch.as_tensor(answer).reshape(()), reference.reshape(()), atol=1e-5))
