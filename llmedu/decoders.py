"""Exact parameter counts of today's open decoders: Llama, Mistral, Qwen2, Qwen3, Mixtral, Gemma 2, Phi-3.

What sets these apart from GPT-2 (:mod:`llmedu.params`): RMSNorm (a scale, no shift), a gated
FFN with three matrices (gate, up, down), grouped-query attention (``num_key_value_heads`` key
and value heads shared by the query heads), a ``head_dim`` that need not be ``hidden_size /
heads`` (Qwen3, Gemma 2), rotary positions (no position embeddings, no parameters), biases only
where the config says (Llama's ``attention_bias`` and ``mlp_bias``, Qwen2's q/k/v biases),
Qwen3's per-head norms of queries and keys, Gemma 2's four norms per layer, Mixtral's router and
experts (total and active parameters per token), and a head tied to the embeddings or not.

Contract: for every config of these families, ``from_config(cfg).total`` equals
``sum(p.numel() for p in AutoModel.from_config(cfg).parameters())``, and
``from_config(cfg, output_head="config").total`` the same sum for ``AutoModelForCausalLM``
(the head tied or untied as ``tie_word_embeddings`` says); the test suite holds both against
models built on the ``meta`` device, over many random configs and the presets' shapes.

Covers the configs as transformers 5 reads them, from a config object or a ``config.json``
dict (missing keys take the config class's defaults). Leaves out memory and speed (the memory
chapter's formulas), vision towers, Gemma 2's soft-capping (no parameters) and other families.
Importing it does not import torch or transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmedu import checks

#: Per family: the config class's defaults that decide the count (checked by the tests).
#: ``num_key_value_heads`` of ``None`` means "as many as the attention heads"; ``head_dim`` of
#: ``None`` means ``hidden_size // num_attention_heads``.
DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": None, "head_dim": None,
              "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False},
    "mistral": {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": None, "tie_word_embeddings": False},
    "qwen2": {"vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": None, "tie_word_embeddings": False},
    "qwen3": {"vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": 128, "attention_bias": False,
              "tie_word_embeddings": False},
    "mixtral": {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": None, "num_local_experts": 8,
                "num_experts_per_tok": 2, "tie_word_embeddings": False},
    "gemma2": {"vocab_size": 256000, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
               "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "attention_bias": False,
               "tie_word_embeddings": True},
    "phi3": {"vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 32,
             "num_attention_heads": 32, "num_key_value_heads": None, "head_dim": None, "tie_word_embeddings": False},
}
FAMILIES = tuple(DEFAULTS)

#: Per family, what the config's flags cannot change: norms per layer, biases fixed by the code.
STRUCTURE: dict[str, dict[str, Any]] = {
    "llama": {"norms_per_layer": 2, "qkv_bias": None, "qk_norm": False},
    "mistral": {"norms_per_layer": 2, "qkv_bias": False, "qk_norm": False},
    "qwen2": {"norms_per_layer": 2, "qkv_bias": True, "qk_norm": False},
    "qwen3": {"norms_per_layer": 2, "qkv_bias": None, "qk_norm": True},
    "mixtral": {"norms_per_layer": 2, "qkv_bias": False, "qk_norm": False},
    "gemma2": {"norms_per_layer": 4, "qkv_bias": None, "qk_norm": False},
    "phi3": {"norms_per_layer": 2, "qkv_bias": False, "qk_norm": False},
}

OUTPUT_HEADS = ("none", "tied", "untied", "config")

#: Named shapes: (model_type, the config.json's sizes, where they come from).
PRESETS: dict[str, tuple[str, dict[str, Any], str]] = {
    "llama-3-8b": ("llama", {"vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
                             "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                             "max_position_embeddings": 8192},
                   "Llama 3 8B: config.json of meta-llama/Meta-Llama-3-8B (Meta, 2024)"),
    "llama-3-70b": ("llama", {"vocab_size": 128256, "hidden_size": 8192, "intermediate_size": 28672,
                              "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8,
                              "max_position_embeddings": 8192},
                    "Llama 3 70B: config.json of meta-llama/Meta-Llama-3-70B (Meta, 2024)"),
    "mistral-7b": ("mistral", {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
                               "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                               "max_position_embeddings": 32768},
                   "Mistral 7B v0.1: config.json of mistralai/Mistral-7B-v0.1 (Jiang et al. 2023)"),
    "mixtral-8x7b": ("mixtral", {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
                                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                                 "num_local_experts": 8, "num_experts_per_tok": 2, "max_position_embeddings": 32768},
                     "Mixtral 8x7B: config.json of mistralai/Mixtral-8x7B-v0.1 (Jiang et al. 2024)"),
    "qwen2.5-0.5b": ("qwen2", {"vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
                               "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                               "tie_word_embeddings": True, "max_position_embeddings": 32768},
                     "Qwen2.5 0.5B: config.json of Qwen/Qwen2.5-0.5B (Qwen team, 2024)"),
    "qwen2.5-7b": ("qwen2", {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
                             "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
                             "max_position_embeddings": 131072},
                   "Qwen2.5 7B: config.json of Qwen/Qwen2.5-7B (Qwen team, 2024)"),
    "qwen3-8b": ("qwen3", {"vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 12288,
                           "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8,
                           "head_dim": 128, "max_position_embeddings": 40960},
                 "Qwen3 8B: config.json of Qwen/Qwen3-8B (Qwen team, 2025)"),
    "gemma-2-2b": ("gemma2", {"vocab_size": 256000, "hidden_size": 2304, "intermediate_size": 9216,
                              "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
                              "head_dim": 256, "max_position_embeddings": 8192},
                   "Gemma 2 2B: config.json of google/gemma-2-2b (Gemma team, 2024)"),
    "phi-3-mini": ("phi3", {"vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192,
                            "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                            "sliding_window": 2047, "max_position_embeddings": 4096},
                   "Phi-3-mini 4k: config.json of microsoft/Phi-3-mini-4k-instruct (Abdin et al. 2024)"),
    "smollm2-135m": ("llama", {"vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536,
                               "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
                               "tie_word_embeddings": True, "max_position_embeddings": 8192},
                     "SmolLM2 135M: config.json of HuggingFaceTB/SmolLM2-135M (Allal et al. 2025)"),
}


@dataclass(frozen=True)
class DecoderShape:
    """The sizes and switches that decide a modern decoder's parameter count."""

    family: str
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    n_experts: int = 0
    experts_per_token: int = 0
    tie_word_embeddings: bool = False

    def __post_init__(self) -> None:
        checks.choice("family", self.family, FAMILIES)
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "n_kv_heads", "head_dim", "d_ff"):
            checks.positive_int(name, getattr(self, name))
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"num_attention_heads ({self.n_heads}) must be a multiple of num_key_value_heads "
                             f"({self.n_kv_heads}); allowed key/value heads divide {self.n_heads}")
        if self.family == "mixtral":
            checks.positive_int("num_local_experts", self.n_experts)
            if not 1 <= checks.positive_int("num_experts_per_tok", self.experts_per_token) <= self.n_experts:
                raise ValueError(f"num_experts_per_tok must be between 1 and num_local_experts ({self.n_experts}), "
                                 f"got {self.experts_per_token}")

    @property
    def architecture(self) -> str:
        """Always ``'decoder'``."""
        return "decoder"

    @property
    def kv_width(self) -> int:
        """Values cached per token, layer and key (or value): ``n_kv_heads * head_dim``."""
        return self.n_kv_heads * self.head_dim


def _read(cfg: Any, key: str, default: Any) -> Any:
    value = cfg.get(key, default) if isinstance(cfg, Mapping) else getattr(cfg, key, default)
    return default if value is None else value


def shape_from_config(cfg: Any) -> DecoderShape:
    """The :class:`DecoderShape` of a transformers config, or of a ``config.json`` dict.

    >>> s = shape_from_config(preset("llama-3-8b"))
    >>> s.n_kv_heads, s.head_dim, s.kv_width
    (8, 128, 1024)
    """
    family = checks.choice("model_type", _read(cfg, "model_type", None), FAMILIES)
    defaults, structure = DEFAULTS[family], STRUCTURE[family]
    size = {key: _read(cfg, key, defaults.get(key)) for key in defaults}
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"):
        checks.positive_int(key, size[key])
    heads = size["num_attention_heads"]
    attention_bias = bool(size.get("attention_bias", False))
    qkv_bias = attention_bias if structure["qkv_bias"] is None else structure["qkv_bias"]
    return DecoderShape(
        family=family, vocab_size=size["vocab_size"], d_model=size["hidden_size"],
        n_layers=size["num_hidden_layers"], n_heads=heads, n_kv_heads=size["num_key_value_heads"] or heads,
        head_dim=size["head_dim"] or size["hidden_size"] // heads, d_ff=size["intermediate_size"],
        qkv_bias=qkv_bias, o_bias=attention_bias if structure["qkv_bias"] is None else False,
        mlp_bias=bool(size.get("mlp_bias", False)), n_experts=size.get("num_local_experts", 0),
        experts_per_token=size.get("num_experts_per_tok", 0), tie_word_embeddings=bool(size["tie_word_embeddings"]))


def preset(name: str) -> dict[str, Any]:
    """The ``config.json`` of a named preset as a dict: ``model_type`` plus its sizes.

    >>> preset("smollm2-135m")["num_key_value_heads"]
    3
    """
    model_type, sizes, _ = PRESETS[checks.choice("preset", name, PRESETS)]
    return {"model_type": model_type, **{k: v for k, v in DEFAULTS[model_type].items() if v is not None}, **sizes}


@dataclass(frozen=True)
class DecoderCount:
    """An exact count of a modern decoder: per layer, per component, total and active per token."""

    shape: DecoderShape
    per_layer: dict[str, int]
    components: dict[str, int]
    active_per_layer: int

    @property
    def total(self) -> int:
        """All parameters, the sum of ``components``."""
        return sum(self.components.values())

    @property
    def layer_total(self) -> int:
        """Parameters of one layer."""
        return sum(self.per_layer.values())

    @property
    def active(self) -> int:
        """Parameters one token uses: all but the experts it is not routed to (the total without experts)."""
        return self.total - self.shape.n_layers * (self.layer_total - self.active_per_layer)


def count(s: DecoderShape, output_head: str = "none") -> DecoderCount:
    """Exact parameter count of a modern decoder; ``output_head`` as in :func:`from_config`.

    Per layer (``d`` width, ``h`` heads, ``k`` key/value heads, ``e`` head width, ``f`` FFN width):
    attention :math:`d \\cdot e\\,(2h + 2k)` plus its biases; the gated FFN :math:`3df` (times
    the experts, plus a router of :math:`dE`, in Mixtral); RMSNorms of :math:`d` each (two, or
    four in Gemma 2) and Qwen3's query and key norms of :math:`e` each.

    >>> c = count(shape_from_config(preset("llama-3-8b")), output_head="config")
    >>> c.layer_total, c.total
    (218112000, 8030261248)
    """
    head = checks.choice("output_head", output_head, OUTPUT_HEADS)
    if head == "config":
        head = "tied" if s.tie_word_embeddings else "untied"
    d, e, f = s.d_model, s.head_dim, s.d_ff
    q, kv = s.n_heads * e, s.n_kv_heads * e
    experts = max(s.n_experts, 1)
    ffn_one = 3 * d * f + (2 * f + d if s.mlp_bias else 0)
    per_layer = {
        "attention": d * (q + 2 * kv) + q * d + ((q + 2 * kv) if s.qkv_bias else 0) + (d if s.o_bias else 0),
        "qk_norms": 2 * e if STRUCTURE[s.family]["qk_norm"] else 0,
        "ffn": experts * ffn_one,
        "router": d * s.n_experts,
        "norms": STRUCTURE[s.family]["norms_per_layer"] * d,
    }
    active_per_layer = sum(per_layer.values()) - (experts - max(s.experts_per_token, 1)) * ffn_one
    components = {
        "token_embeddings": s.vocab_size * d,
        **{name: s.n_layers * value for name, value in per_layer.items()},
        "final_norm": d,
        "output_head": s.vocab_size * d if head == "untied" else 0,
    }
    return DecoderCount(s, per_layer, components, active_per_layer)


def from_config(cfg: Any, output_head: str = "none") -> DecoderCount:
    """Exact count of the model ``AutoModel.from_config(cfg)`` builds (``output_head="none"``), or of
    ``AutoModelForCausalLM`` with ``"config"`` (tied or untied as ``tie_word_embeddings`` says);
    ``"tied"`` and ``"untied"`` force one or the other.

    >>> from_config(preset("smollm2-135m"), output_head="config").total
    134515008
    >>> c = from_config(preset("mixtral-8x7b"), output_head="config")
    >>> round(c.total / 1e9, 1), round(c.active / 1e9, 1)
    (46.7, 12.9)
    """
    return count(shape_from_config(cfg), output_head)
