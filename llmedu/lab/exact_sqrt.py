"""A correctly rounded square root for the labs' numerical path, in place of MKL's vector math.

ATen computes ``sqrt`` of a CPU tensor with MKL's vector math library (VML: ``vsSqrt``,
``vdSqrt``), and VML's last bit depends on the CPU even under ``MKL_CBWR=COMPATIBLE``: on one
million float32 values, about 19 % of its results differ from the correctly rounded square root,
and which ones differ changes between an Intel Xeon with AVX-512 and the same program under an
emulated AMD EPYC (QEMU). AdamW divides by the square root of its second moment at every step,
so that one bit grows into different trained weights. The square root is one of the five
operations IEEE 754 requires to be correctly rounded, and the CPU's ``sqrtps``/``sqrtpd`` do
that on every x86-64 CPU: :func:`install` registers NumPy's square root (which uses them) as
ATen's CPU kernel of ``sqrt``, ``sqrt_`` and ``sqrt.out``. Autograd is unchanged (its formula
reads the result). The root is taken in the result's own type, as ATen's rules give it (float32
for integers), except float16 and bfloat16, rooted in float32 and then rounded to the half type:
float32 carries more than twice their precision plus two bits, so the double rounding still
gives the correctly rounded half root. ``sqrt(-1)`` is a NaN with the sign bit set (the CPU's
default NaN), where VML's has it clear.

Leaves out the other functions ATen sends to VML (``exp``, ``log``, ``tanh``, ``erf``, the
trigonometric ones): none has a correctly rounded instruction to fall back on. Those on the
tiny BERT's training path (``tanh`` in its pooler) gave the same bits under the emulated AMD
CPU; a lab that calls them elsewhere is checked by nbval on each machine the tests run on.
GPUs and other devices keep their own kernels.
"""

from __future__ import annotations

import warnings

import numpy
import torch

_library: torch.library.Library | None = None


def _result_dtype(values: torch.Tensor) -> torch.dtype:
    """The type ATen gives ``sqrt`` of ``values``: its own if floating or complex, else the default."""
    return values.dtype if values.is_floating_point() or values.is_complex() else torch.get_default_dtype()


def _fill(out: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Write the correctly rounded square root of ``values`` into ``out`` (same shape), return it."""
    result = _result_dtype(values)
    if not torch.can_cast(result, out.dtype):
        raise RuntimeError(f"result type {result} can't be cast to the desired output type {out.dtype}")
    compute = {torch.float16: torch.float32, torch.bfloat16: torch.float32, torch.complex32: torch.complex64}
    source = values.detach().resolve_conj().resolve_neg().to(compute.get(result, result))
    with numpy.errstate(invalid="ignore"):  # sqrt(-1) is nan, silently, as in ATen
        roots = numpy.sqrt(source.numpy())
    return out.copy_(torch.from_numpy(numpy.asarray(roots)).to(result))


def _sqrt(values: torch.Tensor) -> torch.Tensor:
    return _fill(torch.empty_like(values, dtype=_result_dtype(values)), values)


def _sqrt_(values: torch.Tensor) -> torch.Tensor:
    return _fill(values, values)


def _sqrt_out(values: torch.Tensor, *, out: torch.Tensor) -> torch.Tensor:
    out.resize_(values.shape)
    return _fill(out, values)


def install() -> None:
    """Make ATen's ``sqrt`` on CPU tensors correctly rounded, in this process (idempotent)."""
    global _library
    if _library is not None:
        return
    library = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():  # torch warns that a kernel is being overridden: that is the point
        warnings.simplefilter("ignore", UserWarning)
        for name, kernel in (("sqrt", _sqrt), ("sqrt_", _sqrt_), ("sqrt.out", _sqrt_out)):
            library.impl(name, kernel, "CPU")
    _library = library


def uninstall() -> None:
    """Give ``sqrt`` back to ATen's own kernels (MKL's vector math), in this process."""
    global _library
    if _library is not None:
        _library._destroy()
        _library = None


def installed() -> bool:
    """Whether :func:`install` has run in this process."""
    return _library is not None
