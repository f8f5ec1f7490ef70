"""Quantizing the labs' models: the arithmetic by hand, dynamic int8 on the CPU, and fake quantization.

:func:`quantize` and :func:`dequantize` are the whole idea in a few lines: map floats to
integers with a scale (and, asymmetric, a zero point), per tensor or per output channel, and
back. :func:`fake_quantize` does both in one step with a straight-through gradient, which is
what quantization-aware training (:func:`attach_fake_quantization`) trains through.

:func:`dynamic_int8` is PyTorch's dynamic int8 quantization of every ``Linear`` layer (weights
stored in int8, activations quantized on the fly per batch), whose fbgemm kernels are fast on
x86 CPUs. It lives in ``torch.ao.quantization``, which torch 2.13 deprecates in favour of
torchao; torchao's CPU kernels are slow in eager mode, so the labs use both and say which is
which. :func:`static_int8` is the article's own path done as it must be: eager-mode *static*
int8, each ``Linear`` between a ``QuantStub`` and a ``DeQuantStub``, its input's scale fixed by a
calibration pass over real data. :func:`linear_weight_bytes` measures what the weights take.

For the pretrained MiniLM, :func:`sentence_embeddings` (mean pooling, as sentence-transformers
does) and :func:`quantize_role` (dynamic int8 for the Linear layers of one role only) show how far
quantization moves the outputs and which layers move them.

Leaves out PT2E (``torch.export`` with the x86 Inductor quantizer), whose int8 speed needs
``torch.compile`` and oneDNN (off on the labs' numerical path), GPU kernels and formats below
8 bits other than by fake quantization.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
from torch.nn.utils import parametrize

from llmedu import checks
from llmedu.lab import runtime
from llmedu.lab.pruning import ROLES, encoder_linears, linear_label


def _limits(bits: int, symmetric: bool) -> tuple[int, int]:
    bits = checks.positive_int("bits", bits)
    if not 2 <= bits <= 16:
        raise ValueError(f"bits must be between 2 and 16, got {bits}")
    return (-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1) if symmetric else (0, 2 ** bits - 1)


def quantize(x: torch.Tensor, bits: int = 8, symmetric: bool = True,
             per_channel: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Integers, scale and zero point of ``x``: :math:`q = \operatorname{clamp}(\operatorname{round}(x / s) + z)`.

    Symmetric: :math:`s = \max|x| / (2^{b-1} - 1)`, :math:`z = 0`, integers in
    :math:`[-(2^{b-1} - 1), 2^{b-1} - 1]`. Asymmetric: the range widened to contain 0,
    :math:`s = (\max(x, 0) - \min(x, 0)) / (2^b - 1)`, :math:`z = \operatorname{round}(-\min(x, 0) / s)`,
    integers in :math:`[0, 2^b - 1]`, so that 0 is represented exactly. Per channel:
    one scale (and zero point) per row of ``x`` (per output of a Linear layer). Quantization chapter.

    >>> q, scale, zero = quantize(torch.tensor([-1.0, 0.0, 0.5, 1.27]))
    >>> q.tolist(), round(float(scale), 4), int(zero)
    ([-100, 0, 50, 127], 0.01, 0)
    """
    low, high = _limits(bits, symmetric)
    x = x.detach().float()
    dims = tuple(range(1, x.dim())) if per_channel else tuple(range(x.dim()))
    if per_channel and x.dim() < 2:
        raise ValueError("per_channel needs a tensor with at least 2 dimensions (one scale per row)")
    if symmetric:
        scale = x.abs().amax(dim=dims, keepdim=True) / high
        zero = torch.zeros_like(scale)
    else:
        low_x = x.amin(dim=dims, keepdim=True).clamp(max=0)
        high_x = x.amax(dim=dims, keepdim=True).clamp(min=0)
        scale = (high_x - low_x) / (high - low)
        zero = torch.round(-low_x / scale.clamp(min=torch.finfo(torch.float32).tiny))
    scale = scale.clamp(min=torch.finfo(torch.float32).tiny)  # an all-zero row: any scale will do
    q = torch.clamp(torch.round(x / scale) + zero, low, high)
    return q.to(torch.int32), scale, zero


def dequantize(q: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    r"""Floats back from integers: :math:`\hat x = s\,(q - z)`.

    >>> dequantize(*quantize(torch.tensor([-1.0, 0.0, 0.5, 1.27]))).tolist()
    [-1.0, 0.0, 0.5, 1.2699999809265137]
    """
    return scale * (q.float() - zero)


def quantization_error(x: torch.Tensor, bits: int = 8, symmetric: bool = True, per_channel: bool = False) -> dict[str, float]:
    """How far the round trip :func:`quantize` then :func:`dequantize` moves ``x``.

    ``max_abs``: the largest error of one entry; ``relative``: the Frobenius norm of the error
    over that of ``x``; ``scale``: the largest scale (the size of one integer step).
    """
    q, scale, zero = quantize(x, bits, symmetric, per_channel)
    error = dequantize(q, scale, zero) - x.detach().float()
    return {"max_abs": float(error.abs().max()), "relative": float(error.norm() / x.detach().float().norm()),
            "scale": float(scale.max())}


def fake_quantize(x: torch.Tensor, bits: int = 8, symmetric: bool = True, per_channel: bool = True) -> torch.Tensor:
    """``x`` quantized and dequantized in the forward pass; in the backward pass, the identity.

    The straight-through estimator: ``x + (round_trip(x) - x).detach()`` has the value of the
    round trip and the gradient of ``x``, so training can move weights across rounding steps.
    """
    return x + (dequantize(*quantize(x, bits, symmetric, per_channel)) - x).detach()


class FakeQuantization(torch.nn.Module):
    """A parametrization that replaces a weight by its fake-quantized value (per channel)."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        _limits(bits, True)
        self.bits = bits

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return fake_quantize(weight, self.bits, symmetric=True, per_channel=True)


def attach_fake_quantization(model: torch.nn.Module, bits: int) -> torch.nn.Module:
    """Make every encoder Linear weight of ``model`` behave as a ``bits``-bit weight, in place.

    Evaluated as it is, this is post-training quantization (PTQ) of the weights; trained, it is
    quantization-aware training (QAT): the float weights learn to sit well on the integer grid.
    """
    for _, module in encoder_linears(model):
        parametrize.register_parametrization(module, "weight", FakeQuantization(bits))
    return model


def dynamic_int8(model: torch.nn.Module, per_channel: bool = False, only: set[str] | None = None) -> torch.nn.Module:
    """A copy of ``model`` with its Linear layers (or the named ones in ``only``) in dynamic int8.

    Weights are stored as int8 with one scale per tensor (or per output channel); each batch's
    activations are quantized on the fly. Uses ``torch.ao.quantization.quantize_dynamic`` (fbgemm
    kernels on x86), whose deprecation warnings this call silences: the labs say so in words.
    """
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    spec = {name: qconfig for name in only} if only is not None else {torch.nn.Linear: qconfig}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, spec, inplace=False)


class StaticInt8Linear(torch.nn.Sequential):
    """A ``Linear`` between a ``QuantStub`` and a ``DeQuantStub``: the unit :func:`static_int8` quantizes.

    After ``convert`` the three are ``Quantize`` (the input's calibrated scale and zero point),
    ``QuantizedLinear`` (int8 weights per channel, an int8 output with its own calibrated scale)
    and ``DeQuantize``. Its forward pass allows non-deterministic algorithms for the duration of
    the call: torch flags the quantized kernel's resizing of its output tensor as such under the
    labs' deterministic mode, though the integer product and its rounding are exact.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        enabled, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
        runtime.deterministic(False)
        try:
            return super().forward(x)
        finally:
            runtime.deterministic(enabled, warn_only=warn_only)


def static_int8(model: torch.nn.Module, calibrate: Callable[[torch.nn.Module], object]) -> torch.nn.Module:
    """A copy of ``model`` with every ``Linear`` in calibrated static int8 (eager mode, fbgemm kernels on x86).

    Wraps each ``Linear`` in a :class:`StaticInt8Linear`, gives the wrappers (and only them: the
    embeddings, attention's softmax and the layer norms stay in float) the ``"x86"`` configuration
    (a histogram observer on activations, with the 7-bit range that keeps fbgemm's AVX2 products
    from saturating; per-channel weights), runs ``prepare``, calls ``calibrate(model)`` to run real
    batches through the observers, and runs ``convert``. Each activation's scale is then fixed:
    nothing is measured at run time, unlike :func:`dynamic_int8`.
    """
    from torch.ao.quantization import DeQuantStub, QuantStub, convert, get_default_qconfig, prepare

    model = copy.deepcopy(model).eval()
    qconfig = get_default_qconfig("x86")
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear):
                wrapper = StaticInt8Linear(QuantStub(), child, DeQuantStub())
                wrapper.qconfig = qconfig
                setattr(parent, name, wrapper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        prepare(model, inplace=True)
        with torch.no_grad():
            calibrate(model)
        convert(model, inplace=True)
    return model


def torchao_int8(model: torch.nn.Module, weight_only: bool = False) -> torch.nn.Module:
    """A copy of ``model`` quantized by torchao's ``quantize_``: int8 weights, and int8 activations unless ``weight_only``.

    Needs the ``torchao`` package (in the book's environment; ``pip install torchao`` elsewhere).
    On a CPU in eager mode its int8 matrix products have no fused kernel: it is accurate, not fast.
    """
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_
    except ImportError as error:
        raise ModuleNotFoundError("torchao's int8 configurations need the torchao package: pip install torchao") from error
    model = copy.deepcopy(model)
    quantize_(model, Int8WeightOnlyConfig() if weight_only else Int8DynamicActivationInt8WeightConfig())
    return model


def round_trip_weights(model: torch.nn.Module, names: set[str], bits: int = 8, per_channel: bool = False) -> torch.nn.Module:
    """A copy of ``model`` whose named Linear layers have their weights replaced by the int8 round trip.

    The activations stay in float: this isolates the error that quantizing the weights causes
    from the error of quantizing the activations (which dynamic quantization adds).
    """
    model = copy.deepcopy(model)
    with torch.no_grad():
        for name in names:
            layer = model.get_submodule(name)
            layer.weight.copy_(dequantize(*quantize(layer.weight, bits, symmetric=True, per_channel=per_channel)))
    return model


def peak_ratio(x: torch.Tensor) -> float:
    """How far the largest magnitude in ``x`` lies above the typical one: ``max|x| / median|x|``.

    >>> peak_ratio(torch.tensor([1.0, -1.0, 2.0, 50.0]))
    50.0
    """
    magnitude = x.detach().abs().flatten().float()
    return float(magnitude.max() / magnitude.median())


def linear_weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of the weight matrices of ``model``'s Linear layers, float or dynamically quantized.

    For a quantized layer: its int8 entries plus its scales and zero points (8 bytes and 4 or
    8 bytes each, as PyTorch stores them). Biases are left out (they stay in float).
    """
    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            total += module.weight.nelement() * module.weight.element_size()
        elif callable(getattr(module, "weight", None)) and hasattr(module, "_packed_params"):
            weight = module.weight()
            total += weight.int_repr().nbytes
            if weight.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
                total += weight.q_per_channel_scales().nbytes + weight.q_per_channel_zero_points().nbytes
            else:
                total += 8 + 8  # one float64 scale and one int64 zero point
    return total


def sentence_embeddings(encoder: torch.nn.Module, batch: dict[str, torch.Tensor], batch_size: int = 32) -> torch.Tensor:
    """Mean of the last hidden states over each sentence's real tokens (sentence-transformers' pooling)."""
    checks.positive_int("batch_size", batch_size)
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(batch["input_ids"]), batch_size):
            part = {k: v[start:start + batch_size] for k, v in batch.items()}
            hidden = encoder(**part).last_hidden_state
            mask = part["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            outputs.append((hidden * mask).sum(dim=1) / mask.sum(dim=1))
    return torch.cat(outputs).float()


def role_names(model: torch.nn.Module, role: str) -> set[str]:
    """Module names of the Linear layers that play ``role`` (a value of :data:`ROLES`) in every layer."""
    checks.choice("role", role, ROLES.values())
    return {name for name, _ in encoder_linears(model) if linear_label(name).split(" ", 2)[2] == role}


def quantize_role(model: torch.nn.Module, role: str, per_channel: bool = False) -> torch.nn.Module:
    """A copy of ``model`` with only the Linear layers of one role (for example ``"FFN out"``) in dynamic int8."""
    return dynamic_int8(model, per_channel=per_channel, only=role_names(model, role))
