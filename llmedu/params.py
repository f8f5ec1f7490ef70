"""Parameter counts of BERT-style encoders and GPT-2-style decoders, component by component.

Two views, side by side, as the parameters chapter uses them:

* :func:`article_formula`, the simplified count of the Hindi source article, exactly as the
  article defines it (no position embeddings, no attention biases, no pooler);
* :func:`count` / :func:`from_config`, the exact count. Contract: for every ``BertConfig``,
  ``RobertaConfig``, ``DistilBertConfig`` and ``GPT2Config``,
  ``from_config(cfg).total == sum(p.numel() for p in AutoModel.from_config(cfg).parameters())``
  (the test suite holds this against models built on the ``meta`` device).

Covers the base models that ``transformers.AutoModel`` builds (embeddings, layers, final layer
norm, BERT's pooler, cross-attention when a config asks for it) and an optional untied output
head of ``vocab_size x d_model`` weights. Today's decoders (rotary embeddings, gated FFNs,
grouped-query attention, experts) are counted in :mod:`llmedu.decoders`, to which
:func:`from_config` hands their configs. Leaves out task heads (classifiers, the MLM transform)
and buffers, which are not parameters. Importing this module does not import torch or transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmedu import checks, decoders

#: Per family: our generic size name -> the attribute name in the transformers config.
FAMILY_KEYS: dict[str, dict[str, str]] = {
    "bert": {"vocab_size": "vocab_size", "d_model": "hidden_size", "n_layers": "num_hidden_layers",
             "n_heads": "num_attention_heads", "d_ff": "intermediate_size",
             "n_positions": "max_position_embeddings", "n_token_types": "type_vocab_size"},
    "distilbert": {"vocab_size": "vocab_size", "d_model": "dim", "n_layers": "n_layers",
                   "n_heads": "n_heads", "d_ff": "hidden_dim", "n_positions": "max_position_embeddings"},
    "gpt2": {"vocab_size": "vocab_size", "d_model": "n_embd", "n_layers": "n_layer",
             "n_heads": "n_head", "d_ff": "n_inner", "n_positions": "n_positions"},
}
FAMILY_KEYS["roberta"] = FAMILY_KEYS["bert"]

#: Per family: the default sizes of the transformers config class (checked by the tests).
#: GPT-2's ``n_inner`` of ``None`` means ``4 * n_embd``.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "bert": {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
             "num_attention_heads": 12, "intermediate_size": 3072,
             "max_position_embeddings": 512, "type_vocab_size": 2},
    "roberta": {"vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 12,
                "num_attention_heads": 12, "intermediate_size": 3072,
                "max_position_embeddings": 512, "type_vocab_size": 2},
    "distilbert": {"vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12,
                   "hidden_dim": 3072, "max_position_embeddings": 512},
    "gpt2": {"vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": None,
             "n_positions": 1024},
}

#: Structural switches that follow from the family (what ``AutoModel`` builds).
FAMILY_STRUCTURE: dict[str, dict[str, bool]] = {
    "bert": {"embedding_layer_norm": True, "final_layer_norm": False, "pooler": True},
    "roberta": {"embedding_layer_norm": True, "final_layer_norm": False, "pooler": True},
    "distilbert": {"embedding_layer_norm": True, "final_layer_norm": False, "pooler": False},
    "gpt2": {"embedding_layer_norm": False, "final_layer_norm": True, "pooler": False},
}

FAMILIES = tuple(FAMILY_KEYS)
OUTPUT_HEADS = ("none", "tied", "untied")

#: Named shapes: (model_type, config sizes in transformers' names, a one-line description).
PRESETS: dict[str, tuple[str, dict[str, Any], str]] = {
    "bert-tiny": ("bert", {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2,
                           "intermediate_size": 512}, "BERT-Tiny shape (Turc et al. 2019)"),
    "bert-base": ("bert", {}, "BERT-base, uncased vocabulary"),
    "bert-large": ("bert", {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                            "intermediate_size": 4096}, "BERT-large"),
    "distilbert": ("distilbert", {}, "DistilBERT-base"),
    "roberta-base": ("roberta", {"max_position_embeddings": 514, "type_vocab_size": 1}, "RoBERTa-base"),
    "roberta-large": ("roberta", {"max_position_embeddings": 514, "type_vocab_size": 1,
                                  "hidden_size": 1024, "num_hidden_layers": 24,
                                  "num_attention_heads": 16, "intermediate_size": 4096}, "RoBERTa-large"),
    "gpt2": ("gpt2", {}, "GPT-2 small"),
    "gpt2-medium": ("gpt2", {"n_embd": 1024, "n_layer": 24, "n_head": 16}, "GPT-2 medium"),
    "gpt2-large": ("gpt2", {"n_embd": 1280, "n_layer": 36, "n_head": 20}, "GPT-2 large"),
    "gpt2-xl": ("gpt2", {"n_embd": 1600, "n_layer": 48, "n_head": 25}, "GPT-2 XL"),
    "gpt3-175b": ("gpt2", {"n_embd": 12288, "n_layer": 96, "n_head": 96, "n_positions": 2048},
                  "GPT-3 175B's shape (Brown et al. 2020) as a GPT-2-style decoder"),
}


@dataclass(frozen=True)
class TransformerShape:
    """The sizes and structural switches that decide a transformer's parameter count.

    Build one with :func:`shape`, which fills the switches from the family, or from a
    transformers config with :func:`shape_from_config`.
    """

    family: str
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    n_positions: int
    n_token_types: int = 0
    embedding_layer_norm: bool = True
    final_layer_norm: bool = False
    pooler: bool = False
    cross_attention: bool = False
    output_head: str = "none"

    def __post_init__(self) -> None:
        checks.choice("family", self.family, FAMILIES)
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "n_positions"):
            checks.positive_int(name, getattr(self, name))
        checks.nonnegative_int("n_token_types", self.n_token_types)
        checks.choice("output_head", self.output_head, OUTPUT_HEADS)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}); "
                             f"allowed head counts divide {self.d_model}")

    @property
    def architecture(self) -> str:
        """``'decoder'`` for GPT-2-style models, ``'encoder'`` for the BERT family."""
        return "decoder" if self.family == "gpt2" else "encoder"

    @property
    def d_head(self) -> int:
        """Width of one attention head, ``d_model // n_heads``."""
        return self.d_model // self.n_heads


def shape(family: str, vocab_size: int, d_model: int, n_layers: int, n_heads: int,
          d_ff: int | None = None, n_positions: int = 512, n_token_types: int | None = None,
          cross_attention: bool = False, output_head: str = "none") -> TransformerShape:
    """A :class:`TransformerShape` with the structural switches of ``family``.

    ``d_ff`` defaults to ``4 * d_model``; ``n_token_types`` to 2 for BERT and RoBERTa and
    to 0 for the families that have no token-type embeddings.

    >>> s = shape("gpt2", vocab_size=50257, d_model=768, n_layers=12, n_heads=12, n_positions=1024)
    >>> s.d_ff, s.final_layer_norm, s.pooler
    (3072, True, False)
    """
    checks.choice("family", family, FAMILIES)
    if d_ff is None:
        d_ff = 4 * checks.positive_int("d_model", d_model)
    if n_token_types is None:
        n_token_types = 2 if "n_token_types" in FAMILY_KEYS[family] else 0
    elif n_token_types and "n_token_types" not in FAMILY_KEYS[family]:
        raise ValueError(f"n_token_types must be 0 for family {family!r} (it has no token-type "
                         f"embeddings); got {n_token_types}")
    return TransformerShape(family, vocab_size, d_model, n_layers, n_heads, d_ff, n_positions,
                            n_token_types, cross_attention=cross_attention,
                            output_head=output_head, **FAMILY_STRUCTURE[family])


def _read(cfg: Any, key: str, default: Any) -> Any:
    if isinstance(cfg, Mapping):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


def shape_from_config(cfg: Any, output_head: str = "none") -> TransformerShape:
    """The :class:`TransformerShape` of a transformers config, or of a mapping with its keys.

    ``cfg`` is a ``BertConfig``, ``RobertaConfig``, ``DistilBertConfig`` or ``GPT2Config``
    (or any object or dict with a ``model_type`` among those and the same attribute names;
    missing sizes take the config class's defaults). transformers is not imported.

    >>> shape_from_config({"model_type": "distilbert"}).n_layers
    6
    """
    family = checks.choice("model_type", _read(cfg, "model_type", None), FAMILIES + decoders.FAMILIES)
    if family in decoders.FAMILIES:
        raise ValueError(f"model_type {family!r} is a modern decoder: count it with llmedu.decoders "
                         f"(or params.from_config); this shape covers {', '.join(FAMILIES)}")
    defaults = FAMILY_DEFAULTS[family]
    sizes = {ours: _read(cfg, theirs, defaults.get(theirs)) for ours, theirs in FAMILY_KEYS[family].items()}
    return shape(family, cross_attention=bool(_read(cfg, "add_cross_attention", False)),
                 output_head=output_head, **sizes)


def preset(name: str) -> dict[str, Any]:
    """The config of a named preset as a dict (``model_type`` plus sizes in transformers' names).

    The dict can be passed to :func:`from_config`, or unpacked into the transformers config
    class to build the real model.

    >>> preset("gpt2-xl")["n_embd"]
    1600
    """
    model_type, sizes, _ = PRESETS[checks.choice("preset", name, PRESETS)]
    return {"model_type": model_type, **FAMILY_DEFAULTS[model_type], **sizes}


@dataclass(frozen=True)
class ParamCount:
    """An exact parameter count: per-layer parts, whole-model components, and the total.

    ``components`` always has the same keys, in the order of the forward pass, with 0 for
    the parts a model does not have, so that counts of different models line up in a table.
    """

    shape: TransformerShape
    per_layer: dict[str, int] = field(default_factory=dict)
    components: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All parameters, :math:`\\sum` of ``components``."""
        return sum(self.components.values())

    @property
    def layer_total(self) -> int:
        """Parameters of one transformer layer."""
        return sum(self.per_layer.values())


def count(s: TransformerShape) -> ParamCount:
    """Exact parameter count of a transformer shape.

    Per layer (``d = d_model``, ``f = d_ff``):

    * attention :math:`4d^2 + 4d` (Q, K, V and output projections with biases);
    * cross-attention, when present, another :math:`4d^2 + 4d`;
    * FFN :math:`2df + f + d`;
    * layer norms :math:`2d` each (scale and shift): two per layer, three with cross-attention.

    Once per model: token embeddings :math:`Vd`, position embeddings :math:`Pd`, token types
    :math:`Td`, the embedding layer norm (BERT family) or final layer norm (GPT-2) :math:`2d`,
    BERT's pooler :math:`d^2 + d`, an untied output head :math:`Vd`.

    >>> c = count(shape("bert", vocab_size=30522, d_model=768, n_layers=12, n_heads=12))
    >>> c.layer_total, c.total
    (7087872, 109482240)
    """
    d, f, n = s.d_model, s.d_ff, s.n_layers
    per_layer = {
        "attention": 4 * d * d + 4 * d,
        "cross_attention": (4 * d * d + 4 * d) if s.cross_attention else 0,
        "ffn": 2 * d * f + f + d,
        "layer_norms": 2 * d * (3 if s.cross_attention else 2),
    }
    components = {
        "token_embeddings": s.vocab_size * d,
        "position_embeddings": s.n_positions * d,
        "token_type_embeddings": s.n_token_types * d,
        "embedding_layer_norm": 2 * d if s.embedding_layer_norm else 0,
        **{name: n * value for name, value in per_layer.items()},
        "final_layer_norm": 2 * d if s.final_layer_norm else 0,
        "pooler": d * d + d if s.pooler else 0,
        "output_head": s.vocab_size * d if s.output_head == "untied" else 0,
    }
    return ParamCount(s, per_layer, components)


def from_config(cfg: Any, output_head: str = "none") -> ParamCount | decoders.DecoderCount:
    """Exact parameter count of the model ``transformers.AutoModel.from_config(cfg)`` builds.

    Today's decoder families (Llama, Mistral, Qwen2, Qwen3, Mixtral, Gemma 2, Phi-3) are counted
    by :func:`llmedu.decoders.from_config`, which also takes ``output_head="config"``.

    >>> from_config(preset("gpt2")).total
    124439808
    >>> from_config({"model_type": "distilbert"}).total
    66362880
    >>> from_config({"model_type": "llama", "num_hidden_layers": 2}).total
    535842816
    """
    if _read(cfg, "model_type", None) in decoders.FAMILIES:
        return decoders.from_config(cfg, output_head)
    return count(shape_from_config(cfg, output_head=output_head))


@dataclass(frozen=True)
class ArticleCount:
    """The source article's simplified parameter count, term by term."""

    embedding: int
    attention: int
    ffn: int
    layer_norm: int
    per_layer: int
    layers: int
    output: int
    total: int


def article_formula(vocab_size: int, d_model: int, n_layers: int, d_ff: int | None = None,
                    output: int = 0) -> ArticleCount:
    """The parameter count exactly as the Hindi source article defines it.

    .. math::

        P_\\text{emb} = V d,\\quad P_\\text{attn} = 4 d^2,\\quad
        P_\\text{ffn} = 2 d f + d + f,\\quad P_\\text{ln} = 2d,

        P_\\text{layer} = P_\\text{attn} + P_\\text{ffn} + 2 P_\\text{ln},\\quad
        P = N P_\\text{layer} + P_\\text{emb} + P_\\text{output}.

    ``d_ff`` defaults to ``4 * d_model``. The article never defines ``P_output`` and leaves
    it out of its worked example, so ``output`` defaults to 0. Compared with :func:`count`,
    the formula omits position (and token-type) embeddings, attention biases and any final
    layer norm or pooler. The article prints 4,719,616 for the FFN term of its example; the
    formula gives the value below.

    >>> a = article_formula(vocab_size=50000, d_model=768, n_layers=12)
    >>> a.ffn, a.per_layer, a.total
    (4722432, 7084800, 123417600)
    """
    v = checks.positive_int("vocab_size", vocab_size)
    d = checks.positive_int("d_model", d_model)
    n = checks.positive_int("n_layers", n_layers)
    f = 4 * d if d_ff is None else checks.positive_int("d_ff", d_ff)
    out = checks.nonnegative_int("output", output)
    attention, ffn, layer_norm = 4 * d * d, 2 * d * f + d + f, 2 * d
    per_layer = attention + ffn + 2 * layer_norm
    return ArticleCount(embedding=v * d, attention=attention, ffn=ffn, layer_norm=layer_norm,
                        per_layer=per_layer, layers=n * per_layer, output=out,
                        total=n * per_layer + v * d + out)
