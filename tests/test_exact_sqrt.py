"""The labs' square root (llmedu.lab.exact_sqrt): correctly rounded in every form torch calls it.

The reference is NumPy's square root, which is the CPU's correctly rounded instruction, and a
counter shows that every form reaches the kernel (on a CPU where MKL's vector math happened to
round correctly, equal values alone would prove nothing). Each test installs the kernel and
gives ATen's back afterwards, so other tests keep torch's own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy
import pytest
import torch

from llmedu.lab import exact_sqrt

VALUES = torch.rand(100_000, generator=torch.Generator().manual_seed(0)) * 1e-5


def _exact(values: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(numpy.sqrt(values.numpy()))


@pytest.fixture
def installed() -> Iterator[None]:
    exact_sqrt.install()
    yield
    exact_sqrt.uninstall()


def test_every_form_of_sqrt_reaches_the_kernel(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fill = exact_sqrt._fill
    monkeypatch.setattr(exact_sqrt, "_fill", lambda out, values: calls.append(1) or fill(out, values))
    torch.sqrt(VALUES), VALUES.sqrt(), VALUES.clone().sqrt_(), torch.sqrt(VALUES, out=torch.empty(1))
    torch._foreach_sqrt([VALUES])
    assert len(calls) == 5
    exact_sqrt.uninstall()
    torch.sqrt(VALUES)
    assert len(calls) == 5 and not exact_sqrt.installed()


@pytest.mark.usefixtures("installed")
def test_every_form_of_sqrt_is_correctly_rounded() -> None:
    exact = _exact(VALUES)
    assert torch.equal(torch.sqrt(VALUES), exact) and torch.equal(VALUES.sqrt(), exact)
    in_place = VALUES.clone()
    assert in_place.sqrt_() is in_place and torch.equal(in_place, exact)
    out = torch.empty(3)
    assert torch.sqrt(VALUES, out=out) is out and torch.equal(out, exact)
    assert torch.equal(torch._foreach_sqrt([VALUES])[0], exact)
    doubles = VALUES.double() * 3
    assert torch.equal(doubles.sqrt(), _exact(doubles))
    strided = VALUES.view(1000, 100).t()
    assert torch.equal(strided.sqrt(), _exact(strided)) and strided.sqrt().stride() == strided.stride()


@pytest.mark.usefixtures("installed")
def test_other_types_and_edge_values_behave_as_atens() -> None:
    assert torch.sqrt(torch.tensor([4, 9])).dtype == torch.get_default_dtype()
    assert torch.sqrt(torch.tensor([2.0], dtype=torch.bfloat16)).item() == torch.tensor([2.0 ** 0.5]).bfloat16().item()
    assert torch.sqrt(torch.tensor(16.0)).item() == 4.0  # a zero-dimensional tensor
    assert torch.equal(torch.sqrt(torch.tensor([-4 + 0j])), torch.tensor([2j]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy would warn on sqrt(-1); ATen does not
        roots = torch.sqrt(torch.tensor([-1.0, 0.0, float("inf")]))
    assert roots[0].isnan() and roots[1:].tolist() == [0.0, float("inf")]
    cast_error = "result type torch.float32 can.t be cast to the desired output type torch.int64"
    with pytest.raises(RuntimeError, match=cast_error):
        torch.tensor([4]).sqrt_()
    doubles = torch.tensor([2.0], dtype=torch.float64)
    assert torch.sqrt(doubles, out=torch.empty(1)).item() == doubles.sqrt().float().item()  # rooted, then rounded


@pytest.mark.usefixtures("installed")
def test_autograd_sees_the_same_derivative() -> None:
    values = torch.tensor([4.0, 9.0], requires_grad=True)
    values.sqrt().sum().backward()
    assert torch.equal(values.grad, torch.tensor([1 / 4, 1 / 6]))
