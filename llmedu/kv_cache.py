"""The key/value cache of today's decoders: grouped-query attention, sliding windows, low-bit caches.

While a decoder generates, every layer keeps one key and one value vector per past token, each
``n_kv_heads * head_dim`` values wide (:attr:`llmedu.decoders.DecoderShape.kv_width`). Two things
make the cache of a real model smaller than ``2 * layers * tokens * width`` 16-bit numbers:

* **sliding windows**: a layer that attends to the last ``W`` tokens only keeps, in transformers,
  the ``W - 1`` before the current one (llama.cpp and Mistral's reference code keep ``W``) (Mistral 7B v0.1 in every layer; Gemma 2 in every other layer; Phi-3-mini;
  Qwen2/Qwen3 above ``max_window_layers`` when ``use_sliding_window`` is set). Which layers slide
  follows the config exactly as transformers 5 builds its ``DynamicCache``; the test suite holds
  :func:`layout_from_config` against transformers and the kept tokens against a filled cache;
* **low-bit caches** (:data:`KV_FORMATS`): fp8 (one byte, a per-tensor scale left out), and int8
  or int4 with an fp16 scale and an fp16 zero point per group of 64 values, the grouping of
  transformers' ``QuantizedCache`` (int4 with its quanto or HQQ backend, int8 with HQQ; its most
  recent tokens, 128 by default, stay 16-bit: left out).

Leaves out paged allocation (vLLM's blocks round each sequence up to a block), prefix sharing
between sequences, and the cache's own transient copy while a step appends to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmedu import checks, decoders
from llmedu.weight_formats import WeightFormat

#: Bytes of cached keys and values per format: ``block`` values in ``block_bytes`` bytes.
KV_FORMATS: dict[str, WeightFormat] = {
    "fp32": WeightFormat(1, 4, "IEEE 754 single precision"),
    "bf16": WeightFormat(1, 2, "bfloat16, the usual cache of a bf16 model"),
    "fp16": WeightFormat(1, 2, "IEEE 754 half precision"),
    "fp8": WeightFormat(1, 1, "fp8 (e4m3), one scale per tensor (left out)"),
    "int8_g64": WeightFormat(64, 64 + 2 + 2, "int8, an fp16 scale and zero point per 64 values"),
    "int4_g64": WeightFormat(64, 32 + 2 + 2, "int4, an fp16 scale and zero point per 64 values"),
}

#: Per family, the config's defaults that decide which layers slide (transformers 5's config classes).
WINDOW_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {},
    "mistral": {"sliding_window": 4096},
    "mixtral": {"sliding_window": None},
    "phi3": {"sliding_window": None},
    "gemma2": {"sliding_window": 4096},
    "qwen2": {"use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28},
    "qwen3": {"use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28},
}


@dataclass(frozen=True)
class KVLayout:
    """What a decoder caches per token: its layers, the width of a key, and which layers slide."""

    n_layers: int
    kv_width: int
    sliding_window: int = 0
    n_sliding: int = 0
    max_context: int = 0  #: the longest context the model was trained for (0: not known)

    def __post_init__(self) -> None:
        checks.nonnegative_int("max_context", self.max_context)
        checks.positive_int("n_layers", self.n_layers)
        checks.positive_int("kv_width", self.kv_width)
        checks.nonnegative_int("sliding_window", self.sliding_window)
        if not 0 <= checks.nonnegative_int("n_sliding", self.n_sliding) <= self.n_layers:
            raise ValueError(f"n_sliding must be between 0 and n_layers ({self.n_layers}), got {self.n_sliding}")
        if self.n_sliding and self.sliding_window < 2:
            raise ValueError(f"sliding_window must be a whole number >= 2 when layers slide, got {self.sliding_window}")


def _get(cfg: Any, key: str, default: Any) -> Any:
    return cfg.get(key, default) if isinstance(cfg, Mapping) else getattr(cfg, key, default)


def layout_from_config(cfg: Any) -> KVLayout:
    """The :class:`KVLayout` of a config object or ``config.json`` dict of :data:`llmedu.decoders.FAMILIES`.

    >>> layout_from_config(decoders.preset("mistral-7b"))
    KVLayout(n_layers=32, kv_width=1024, sliding_window=4096, n_sliding=32, max_context=32768)
    >>> layout_from_config(decoders.preset("gemma-2-2b"))
    KVLayout(n_layers=26, kv_width=1024, sliding_window=4096, n_sliding=13, max_context=8192)
    >>> layout_from_config(decoders.preset("llama-3-8b")).n_sliding
    0
    """
    shape = decoders.shape_from_config(cfg)
    family, defaults = shape.family, WINDOW_DEFAULTS[shape.family]
    window = _get(cfg, "sliding_window", defaults.get("sliding_window"))
    if family in ("qwen2", "qwen3") and not _get(cfg, "use_sliding_window", False):
        window = None
    layer_types = _get(cfg, "layer_types", None)
    if window is None:
        sliding = 0
    elif layer_types is not None:
        sliding = sum(kind == "sliding_attention" for kind in layer_types)
    elif family == "gemma2":
        sliding = (shape.n_layers + 1) // 2  # layers 0, 2, 4, ... slide
    elif family in ("qwen2", "qwen3"):
        first = _get(cfg, "max_window_layers", defaults["max_window_layers"])
        sliding = max(shape.n_layers - checks.nonnegative_int("max_window_layers", first), 0)
    else:
        sliding = shape.n_layers
    if sliding:
        checks.positive_int("sliding_window", window)
    context = _get(cfg, "max_position_embeddings", None)
    return KVLayout(shape.n_layers, shape.kv_width, window if sliding else 0, sliding,
                    0 if context is None else checks.positive_int("max_position_embeddings", context))


def bytes_per_value(kv_format: str) -> float:
    """Bytes one cached number costs in ``kv_format``, its scales included.

    >>> bytes_per_value("bf16"), bytes_per_value("int8_g64"), bytes_per_value("int4_g64")
    (2.0, 1.0625, 0.5625)
    """
    fmt = KV_FORMATS[checks.choice("kv_format", kv_format, KV_FORMATS)]
    return fmt.block_bytes / fmt.block


def tokens_kept(layout: KVLayout, seq_len: int) -> dict[str, int]:
    """Tokens each kind of layer keeps after ``seq_len`` tokens: all of them, or the last ``W - 1``;
    a context longer than the model's is refused.

    >>> tokens_kept(KVLayout(32, 1024, 4096, 32), 8192)
    {'full': 8192, 'sliding': 4095}
    """
    s = checks.positive_int("seq_len", seq_len)
    if layout.max_context and s > layout.max_context:
        raise ValueError(f"a context of {s:,} tokens exceeds the model's {layout.max_context:,} "
                         "(max_position_embeddings); give at most that many")
    return {"full": s, "sliding": min(s, layout.sliding_window - 1) if layout.n_sliding else s}


def cache_bytes(layout: KVLayout, seq_len: int, batch: int = 1, kv_format: str = "bf16") -> float:
    """Bytes of the cache of ``batch`` sequences of ``seq_len`` tokens:
    :math:`2 \\cdot b \\cdot w \\cdot (L_\\text{full} \\cdot s + L_\\text{sliding} \\cdot \\min(s, W - 1))` values.

    >>> llama = layout_from_config(decoders.preset("llama-3-8b"))
    >>> cache_bytes(llama, 8192) / 2**30, cache_bytes(llama, 8192, kv_format="int4_g64") / 2**30
    (1.0, 0.28125)
    >>> mistral = layout_from_config(decoders.preset("mistral-7b"))
    >>> cache_bytes(mistral, 32768) / 2**20      # 4,095 tokens in every layer, whatever the context
    511.875
    """
    kept = tokens_kept(layout, seq_len)
    values = 2 * checks.positive_int("batch", batch) * layout.kv_width * (
        (layout.n_layers - layout.n_sliding) * kept["full"] + layout.n_sliding * kept["sliding"])
    return values * bytes_per_value(kv_format)


def per_token_bytes(layout: KVLayout, kv_format: str = "bf16") -> float:
    """Bytes one more token adds to the cache while no window is full: :math:`2 L w` values.

    >>> per_token_bytes(layout_from_config(decoders.preset("llama-3-8b"))) / 2**10
    128.0
    """
    return 2 * layout.n_layers * layout.kv_width * bytes_per_value(kv_format)
