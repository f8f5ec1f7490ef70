"""Low-bit weights and KV cache of a decoder: round-to-nearest in groups by hand, and torchao's.

:func:`group_quantize` is the arithmetic of every weight-only format in a few lines. A row of the
weight matrix (one output) is cut into groups of ``group_size`` consecutive weights (the whole
row: per channel); each group gets its own scale. Symmetric, as GGUF's Q8_0:
:math:`s = \\max|x| / (2^{b-1}-1)`, :math:`\\hat x = s\\,q` with
:math:`q \\in [-(2^{b-1}-1),\\ 2^{b-1}-1]` (GGUF's Q4_0 and torchao use the one more level
:math:`-2^{b-1}` too). Asymmetric with a float minimum, as GGUF's Q4_1 and Q5_1:
:math:`s = (\\max x - \\min x) / (2^b - 1)`, :math:`\\hat x = s\\,q + \\min x` with
:math:`q \\in [0, 2^b - 1]`, so the grid spans the group's range exactly (the k-quants have this
form, with a scale and minimum chosen by a search and stored in 6 bits; torchao's asymmetric
mapping widens the range to include zero and stores an integer zero point).

:func:`round_trip_linears` puts a model's Linear weights through the round trip and back to fp32:
the quality any kernel that dequantizes these weights would give. :func:`torchao_weight_only`
quantizes with torchao's ``IntxWeightOnlyConfig``, the library path, whose only layout in torchao
0.18 (``unpacked_to_int8``) keeps each integer in a byte (:func:`torchao_bytes`). The output layer, tied to the embeddings in small
models, is left as it is in both. :func:`with_quantized_cache` gives the attention every key and
value after the same round trip (asymmetric, per token and head in groups along the head's width):
what a cache kept in that format hands back.

Leaves out the other activations, calibration-based methods (:mod:`llmedu.lab.gptq`), and
packing to the bits of a file format (sizes of those: :mod:`llmedu.weight_formats` and
:mod:`llmedu.kv_cache`).
"""

from __future__ import annotations

import copy

import torch

from llmedu import checks

#: Linear layers whose name contains one of these are left in fp32 (the head, tied to the embeddings).
KEEP = ("lm_head",)


def _groups(weight: torch.Tensor, group_size: int | None) -> torch.Tensor:
    rows, columns = weight.shape
    group = columns if group_size is None else checks.positive_int("group_size", group_size)
    if columns % group:
        raise ValueError(f"group_size {group} must divide the rows' length {columns}")
    return weight.detach().float().reshape(rows, columns // group, group)


def group_quantize(weight: torch.Tensor, bits: int = 4, group_size: int | None = 32,
                   symmetric: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Integers, scales and offsets of a 2-D ``weight`` in groups of ``group_size`` along its rows.

    Returns ``q`` (int32, shape rows × groups × group_size), the scales and the offsets (zeros when
    symmetric, the groups' minimums when asymmetric), so that :func:`group_dequantize` gives
    :math:`s\\,q + m`.

    >>> q, s, m = group_quantize(torch.tensor([[-1.0, 0.0, 0.5, 3.0]]), bits=2, group_size=4, symmetric=False)
    >>> q.flatten().tolist(), s.flatten().tolist(), m.flatten().tolist()
    ([0, 1, 1, 3], [1.3333333730697632], [-1.0])
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be a matrix (2 dimensions), got {weight.dim()}")
    x = _groups(weight, group_size)
    scale, offset, levels = grid(x, bits, symmetric)
    return to_grid(x, scale, offset, levels).to(torch.int32), scale, offset


def grid(x: torch.Tensor, bits: int, symmetric: bool) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """Scale, offset and integer range of the ``bits``-bit grid of each group along the last dimension of ``x``."""
    bits = checks.positive_int("bits", bits)
    if not 2 <= bits <= 8:
        raise ValueError(f"bits must be between 2 and 8, got {bits}")
    tiny = torch.finfo(torch.float32).tiny
    if symmetric:
        high = 2 ** (bits - 1) - 1
        return (x.abs().amax(-1, keepdim=True) / high).clamp(min=tiny), torch.zeros_like(x[..., :1]), (-high, high)
    high = 2 ** bits - 1
    offset = x.amin(-1, keepdim=True)
    return ((x.amax(-1, keepdim=True) - offset) / high).clamp(min=tiny), offset, (0, high)


def to_grid(x: torch.Tensor, scale: torch.Tensor, offset: torch.Tensor, levels: tuple[int, int]) -> torch.Tensor:
    """The integers of ``x`` on the grid :math:`s\\,q + m`: rounded to the nearest, clamped to ``levels`` (float)."""
    return torch.clamp(torch.round((x - offset) / scale), *levels)


def group_dequantize(q: torch.Tensor, scale: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Floats back from :func:`group_quantize`: :math:`s\\,q + m`, as a matrix (rows × columns)."""
    return (scale * q.float() + offset).reshape(q.shape[0], -1)


def round_trip(weight: torch.Tensor, bits: int = 4, group_size: int | None = 32, symmetric: bool = True) -> torch.Tensor:
    """``weight`` quantized by :func:`group_quantize` and dequantized again (fp32)."""
    return group_dequantize(*group_quantize(weight, bits, group_size, symmetric))


def round_trip_error(weight: torch.Tensor, bits: int = 4, group_size: int | None = 32,
                     symmetric: bool = True) -> dict[str, float]:
    """How far the round trip moves ``weight``: relative (Frobenius) error, largest change of one
    weight, and the share of weights it leaves exactly as they were."""
    original = weight.detach().float()
    back = round_trip(original, bits, group_size, symmetric)
    return {"relative": float((back - original).norm() / original.norm()), "largest": float((back - original).abs().max()),
            "unchanged": float((back == original).float().mean())}


def quantized_linears(model: torch.nn.Module) -> list[tuple[str, torch.nn.Linear]]:
    """The Linear layers the functions here quantize: all but :data:`KEEP`."""
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not any(keep in name for keep in KEEP)]


def round_trip_linears(model: torch.nn.Module, bits: int = 4, group_size: int | None = 32,
                       symmetric: bool = True) -> torch.nn.Module:
    """A copy of ``model`` whose Linear weights (but :data:`KEEP`) are replaced by their round trip."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        for _, module in quantized_linears(model):
            module.weight.copy_(round_trip(module.weight, bits, group_size, symmetric))
    return model


def torchao_weight_only(model: torch.nn.Module, bits: int = 4, group_size: int | None = 32,
                        symmetric: bool = True) -> torch.nn.Module:
    """A copy of ``model`` quantized by torchao's ``IntxWeightOnlyConfig`` (Linear layers but :data:`KEEP`).

    ``group_size=None`` is per channel. Asymmetric is torchao's mapping, with an integer zero point.
    Needs the ``torchao`` package (``pip install torchao``).
    """
    try:
        from torchao.quantization import IntxWeightOnlyConfig, MappingType, PerAxis, PerGroup, quantize_
    except ImportError as error:
        raise ModuleNotFoundError("torchao's weight-only configurations need the torchao package: pip install torchao") from error
    bits = checks.positive_int("bits", bits)
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be between 1 and 8 for torchao, got {bits}")
    granularity = PerAxis(0) if group_size is None else PerGroup(checks.positive_int("group_size", group_size))
    config = IntxWeightOnlyConfig(weight_dtype=getattr(torch, f"int{bits}"), granularity=granularity,
                                  mapping_type=MappingType.SYMMETRIC if symmetric else MappingType.ASYMMETRIC)
    model = copy.deepcopy(model)
    names = {name for name, _ in quantized_linears(model)}
    quantize_(model, config, filter_fn=lambda module, name: name in names)
    return model


def torchao_bytes(model: torch.nn.Module) -> dict[str, int]:
    """Bytes torchao holds for the quantized Linear weights of ``model``: integers, scales, zero points."""
    totals = {"integers": 0, "scales": 0, "zero_points": 0}
    for _, module in quantized_linears(model):
        weight = module.weight
        for key, attribute in (("integers", "qdata"), ("scales", "scale"), ("zero_points", "zero_point")):
            tensor = getattr(weight, attribute, None)
            if tensor is not None:
                totals[key] += tensor.numel() * tensor.element_size()
    return totals


def _round_trip_heads(x: torch.Tensor, bits: int, group_size: int) -> torch.Tensor:
    """``x`` (…, head width) through :func:`round_trip`, asymmetric, in groups along its last dimension."""
    return round_trip(x.reshape(-1, x.shape[-1]), bits, group_size, symmetric=False).reshape(x.shape).to(x.dtype)


def with_quantized_cache(model: torch.nn.Module, bits: int = 4, group_size: int = 64) -> torch.nn.Module:
    """A copy of ``model`` whose attention uses its keys and values after a ``bits``-bit round trip.

    Asymmetric, in groups of ``group_size`` along each head's width (per token and head), as
    ``transformers``' quantized cache groups them, but with fp32 scales and minimums. Every token's
    key and value goes through it, the current one's too; the quantized cache of ``transformers``
    keeps its most recent tokens (128 by default) in full precision, so this is its worst case.
    The copy computes attention with PyTorch's ``scaled_dot_product_attention`` (``sdpa``).
    """
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    bits, group_size = checks.positive_int("bits", bits), checks.positive_int("group_size", group_size)
    name = f"llmedu_kv_int{bits}_g{group_size}"

    def attention(module, query, key, value, attention_mask, **kwargs):
        return sdpa_attention_forward(module, query, _round_trip_heads(key, bits, group_size),
                                      _round_trip_heads(value, bits, group_size), attention_mask, **kwargs)

    AttentionInterface.register(name, attention)
    AttentionMaskInterface.register(name, sdpa_mask)
    model = copy.deepcopy(model)
    model.set_attn_implementation(name)
    return model
