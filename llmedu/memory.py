"""Memory of a transformer: weights, inference working memory, training states, activations.

All results are in bytes. Each estimate the parameters chapter discusses has its own
function, named after where it comes from:

* weights by number format: :math:`N \\times` bytes per parameter;
* inference working memory by the article's rule (2x the weights) and by EleutherAI's
  "Transformer Math 101" rule (1.2x), plus the KV cache a decoder keeps while generating
  (multi-head or grouped-query attention);
* training model states: fp32 Adam and mixed-precision Adam, both 16 bytes per parameter
  (Rajbhandari et al. 2020, the ZeRO paper);
* activations saved for the backward pass, per layer: the article's formula as printed
  (14E + 4BSS), the sum of the parts the article itself lists (20E + 4BSS), Korthikanti
  et al. 2022 (:math:`sbh(34 + 5as/h)`, and the same accounting at any dtype), and a count
  derived from the tensors a BERT layer really saves; the article's logits terms and its peak;
* a language model's logits and cross-entropy as transformers computes them (:func:`lm_loss_bytes`),
  and the corrected peak of a training step (:func:`peak_training`).

Leaves out allocator fragmentation, framework workspaces, gradient checkpointing and
parallelism; the memory lab measures what these formulas miss.
"""

from __future__ import annotations

import math
from typing import Any

from llmedu import checks, units
from llmedu.params import ParamCount

ARTICLE_INFERENCE_FACTOR = 2.0  #: the article: working memory ~ 2 x model memory
ELEUTHER_INFERENCE_FACTOR = 1.2  #: Transformer Math 101: total inference memory ~ 1.2 x model memory

#: Bytes per parameter of the model states kept while training with Adam.
TRAINING_STATES: dict[str, dict[str, int]] = {
    "fp32_adam": {"weights": 4, "gradients": 4, "adam_momentum": 4, "adam_variance": 4},
    "mixed_adam": {"fp16_weights": 2, "fp16_gradients": 2, "fp32_master_weights": 4,
                   "adam_momentum": 4, "adam_variance": 4},
    "autocast_adam": {"fp32_weights": 4, "fp32_gradients": 4, "adam_momentum": 4, "adam_variance": 4},
}


def weights_bytes(n_params: int, dtype: str = "fp32") -> float:
    """Bytes to store ``n_params`` parameters in ``dtype``: :math:`N \\cdot b`.

    >>> weights_bytes(123_417_600, "fp32")
    493670400
    >>> weights_bytes(7, "int4")
    3.5
    """
    return checks.nonnegative_int("n_params", n_params) * units.bytes_per_param(dtype)


def inference_article(n_params: int, dtype: str = "fp32") -> float:
    """The article's inference working memory: :math:`2 \\times` the weights (an unsourced rule).

    >>> inference_article(1_000_000, "fp16")
    4000000.0
    """
    return ARTICLE_INFERENCE_FACTOR * weights_bytes(n_params, dtype)


def inference_eleuther(n_params: int, dtype: str = "fp32") -> float:
    """EleutherAI's inference estimate: :math:`1.2 \\times` the weights (20% overhead).

    >>> inference_eleuther(1_000_000, "fp16")
    2400000.0
    """
    return ELEUTHER_INFERENCE_FACTOR * weights_bytes(n_params, dtype)


def kv_cache_bytes(n_layers: int, d_model: int, seq_len: int, batch: int, dtype: str = "fp16",
                   kv_width: int | None = None) -> float:
    """Bytes of a decoder's key/value cache: :math:`2 \\cdot L \\cdot b \\cdot s \\cdot w \\cdot` bytes.

    One key and one value vector per layer, token and sequence, each ``kv_width`` values wide.
    With multi-head attention that is ``d_model`` (the default). With grouped-query attention
    (GQA: Llama, Mistral, Qwen, Gemma) groups of query heads share one key and one value head,
    and the width is ``n_kv_heads * head_dim``: the cache shrinks by ``n_heads / n_kv_heads``.
    It grows linearly with the context, which a fixed multiple of the weights cannot express.

    >>> kv_cache_bytes(n_layers=12, d_model=768, seq_len=1024, batch=1, dtype="fp16")
    37748736
    >>> kv_cache_bytes(n_layers=32, d_model=4096, seq_len=1, batch=1, dtype="bf16", kv_width=8 * 128)  # Llama-3-8B
    131072
    """
    width = checks.positive_int("d_model", d_model) if kv_width is None else checks.positive_int("kv_width", kv_width)
    return (2 * checks.positive_int("n_layers", n_layers) * checks.positive_int("batch", batch)
            * checks.positive_int("seq_len", seq_len) * width * units.bytes_per_param(dtype))


def training_states(n_params: int, scheme: str = "fp32_adam") -> dict[str, int]:
    """Bytes of the model states kept while training with Adam, part by part.

    ``fp32_adam``: weights, gradients and Adam's two moments in fp32, :math:`4+4+8 = 16N`.
    ``mixed_adam``: fp16 weights and gradients plus fp32 master weights and moments,
    :math:`2+2+12 = 16N` (ZeRO paper, section 3.1; Megatron, Apex O2). ``autocast_adam``: mixed
    precision as ``torch.autocast`` does it, fp32 weights and gradients whose 16-bit copies live
    only during the matrix products, :math:`4+4+8 = 16N`. Activations are not included.

    >>> sum(training_states(1000, "mixed_adam").values())
    16000
    """
    n = checks.nonnegative_int("n_params", n_params)
    per_param = TRAINING_STATES[checks.choice("scheme", scheme, TRAINING_STATES)]
    return {part: n * size for part, size in per_param.items()}


def steady_state_article(n_params: int, batch: int, input_dim: int) -> int:
    """The article's steady-state training memory, :math:`M = 16N + 8BD` bytes.

    fp32 weights, gradients and Adam states (16 bytes per parameter) plus an int64 input of
    ``batch x input_dim`` (for token inputs ``input_dim`` is the sequence length).

    >>> steady_state_article(1000, batch=2, input_dim=128)
    18048
    """
    return (16 * checks.nonnegative_int("n_params", n_params)
            + 8 * checks.positive_int("batch", batch) * checks.positive_int("input_dim", input_dim))


def _bsh(batch: int, seq_len: int, hidden: int) -> tuple[int, int, int]:
    return (checks.positive_int("batch", batch), checks.positive_int("seq_len", seq_len),
            checks.positive_int("hidden", hidden))


def article_activation_parts(batch: int, seq_len: int, hidden: int) -> dict[str, int]:
    """The per-layer activation terms the article lists, in bytes, with :math:`E = BSH`.

    Layer norm 4E, QKV 2E, attention matrix 4BSS, attention output 2E, first linear 2E,
    GELU 8E, second linear 2E. Their sum is :math:`20E + 4BSS`, not the :math:`14E + 4BSS`
    the article prints.

    >>> parts = article_activation_parts(batch=1, seq_len=2, hidden=3)
    >>> parts["gelu"], sum(parts.values())
    (48, 136)
    """
    b, s, h = _bsh(batch, seq_len, hidden)
    e = b * s * h
    return {"layer_norm": 4 * e, "qkv": 2 * e, "attention_matrix": 4 * b * s * s,
            "attention_output": 2 * e, "ffn_linear_1": 2 * e, "gelu": 8 * e, "ffn_linear_2": 2 * e}


def activations_per_layer_article(batch: int, seq_len: int, hidden: int) -> int:
    """The article's per-layer activation memory as printed: :math:`14E + 4BSS` bytes, :math:`E = BSH`.

    >>> activations_per_layer_article(batch=1, seq_len=2, hidden=3)
    100
    """
    b, s, h = _bsh(batch, seq_len, hidden)
    return 14 * b * s * h + 4 * b * s * s


def activations_per_layer_article_parts(batch: int, seq_len: int, hidden: int) -> int:
    """The sum of the article's own listed parts: :math:`20E + 4BSS` bytes.

    >>> activations_per_layer_article_parts(batch=1, seq_len=2, hidden=3)
    136
    """
    return sum(article_activation_parts(batch, seq_len, hidden).values())


def activations_per_layer_korthikanti(batch: int, seq_len: int, hidden: int, n_heads: int,
                                      dtype: str = "fp16", mask_bytes: int = 1) -> int:
    """Korthikanti et al. 2022, eq. 1: :math:`sbh(34 + 5as/h)` bytes per layer, at any dtype.

    The paper counts 16-bit activations and 1-byte dropout masks, no recomputation, no tensor
    or sequence parallelism; ``a`` is the number of attention heads, so the attention-score
    term :math:`5as^2b` grows with the heads. Split into values and masks, the same accounting
    at ``e`` bytes per value and ``m`` bytes per mask element is
    :math:`e(16sbh + 2as^2b) + m(2sbh + as^2b)`; with ``e = 2, m = 1`` it is the paper's formula.
    (On a CPU, PyTorch stores dropout masks in the activations' dtype: pass ``mask_bytes=4``
    for fp32.)

    >>> activations_per_layer_korthikanti(batch=4, seq_len=128, hidden=768, n_heads=12)
    17301504
    >>> activations_per_layer_korthikanti(4, 128, 768, 12, dtype="fp32", mask_bytes=4)
    37748736
    """
    b, s, h = _bsh(batch, seq_len, hidden)
    a = checks.positive_int("n_heads", n_heads)
    e = _activation_bytes(dtype)
    m = checks.positive_int("mask_bytes", mask_bytes)
    return e * (16 * s * b * h + 2 * a * s * s * b) + m * (2 * s * b * h + a * s * s * b)


def _activation_bytes(dtype: str) -> int:
    size = units.bytes_per_param(dtype)
    if size < 1:
        raise ValueError(f"dtype must store activations in whole bytes (fp32, fp16, bf16, int8), got {dtype!r}")
    return int(size)


def activations_per_layer_bert(batch: int, seq_len: int, hidden: int, n_heads: int, d_ff: int | None = None,
                               dtype: str = "fp32", mask_bytes: int | None = None, attention_dropout: bool = True,
                               fused_attention: bool = False) -> int:
    """Bytes one BERT layer saves for backward, counted tensor by tensor (PyTorch, transformers).

    Derived from the tensors autograd keeps for one ``BertLayer`` in training mode (the memory
    lab lists them): the layer input (shared by Q, K and V), Q, K, V, the attention context,
    two layer-norm inputs with their mean and reciprocal deviation (:math:`2sb` values each),
    the input of the FFN, the GELU input and output (:math:`sbf` each), and per head the softmax
    output and the dropped-out scores (:math:`as^2b` each), plus the dropout masks (two of
    :math:`sbh` and one of :math:`as^2b`). With ``e`` bytes per value and ``m`` per mask element:

    .. math:: e(8sbh + 2sbf + 2as^2b + 4sb) + m(2sbh + as^2b)

    That is attention as PyTorch's math path computes it (eager, or SDPA with dropout). Without
    attention dropout (``attention_dropout=False``) only the softmax output is kept per head,
    :math:`e \\cdot as^2b`. A fused kernel (``fused_attention=True``: FlashAttention, memory-efficient
    SDPA, or SDPA on a CPU without dropout) keeps no :math:`s \\times s` tensor at all, only one
    fp32 log-sum-exp per row and head, :math:`4asb` bytes, and recomputes the scores in backward.

    ``d_ff`` defaults to ``4 * hidden``; ``mask_bytes`` defaults to ``e`` (what PyTorch does on
    a CPU; a GPU's fused dropout keeps 1-byte masks).

    >>> activations_per_layer_bert(batch=4, seq_len=128, hidden=768, n_heads=12)
    37756928
    >>> activations_per_layer_bert(batch=4, seq_len=128, hidden=768, n_heads=12, fused_attention=True)
    28344320
    """
    b, s, h = _bsh(batch, seq_len, hidden)
    a = checks.positive_int("n_heads", n_heads)
    f = 4 * h if d_ff is None else checks.positive_int("d_ff", d_ff)
    e = _activation_bytes(dtype)
    m = e if mask_bytes is None else checks.positive_int("mask_bytes", mask_bytes)
    if fused_attention:
        scores = 4 * a * s * b
    elif attention_dropout:
        scores = 2 * e * a * s * s * b + m * a * s * s * b
    else:
        scores = e * a * s * s * b
    return e * (8 * s * b * h + 2 * s * b * f + 4 * s * b) + m * 2 * s * b * h + scores


def logits_article(batch: int, seq_len: int, vocab_size: int) -> int:
    """The article's cross-entropy term, :math:`6BSV` bytes (logits and their softmax).

    >>> logits_article(batch=1, seq_len=2, vocab_size=10)
    120
    """
    return (6 * checks.positive_int("batch", batch) * checks.positive_int("seq_len", seq_len)
            * checks.positive_int("vocab_size", vocab_size))


def activations_article(n_layers: int, batch: int, seq_len: int, hidden: int, vocab_size: int) -> int:
    """The article's total: :math:`M_\\text{act} = L(14E + 4BSS) + 6BSV` bytes.

    >>> activations_article(n_layers=2, batch=1, seq_len=2, hidden=3, vocab_size=10)
    320
    """
    layers = checks.positive_int("n_layers", n_layers)
    return layers * activations_per_layer_article(batch, seq_len, hidden) + logits_article(batch, seq_len, vocab_size)


def peak_article(n_params: int, n_layers: int, batch: int, seq_len: int, hidden: int, vocab_size: int) -> int:
    """The article's peak: :math:`M_\\text{steady} + M_\\text{act} + 4BSV` bytes, with :math:`D = S`.

    >>> peak_article(1000, n_layers=2, batch=1, seq_len=2, hidden=3, vocab_size=10)
    16416
    """
    return (steady_state_article(n_params, batch, seq_len)
            + activations_article(n_layers, batch, seq_len, hidden, vocab_size)
            + 4 * batch * seq_len * vocab_size)


def lm_loss_bytes(batch: int, seq_len: int, vocab_size: int) -> dict[str, int]:
    """A language model's logits and cross-entropy in a training step, as transformers computes the loss.

    The loss upcasts the logits to fp32 and takes their log-softmax over the vocabulary, which
    autograd keeps for backward: ``saved`` is :math:`4sbv` bytes (Korthikanti et al.'s term for
    the output layer; part of the activations). At the start of the backward pass two more fp32
    tensors of the same shape are alive beside it, the loss's gradient with respect to the
    log-probabilities and the gradient of the logits: ``backward_extra`` is :math:`8sbv` bytes,
    on top of the activations, until the log-softmax's backward has run. The memory lab measures
    both on a small GPT-2. Fused or chunked losses (Liger's fused linear cross-entropy, Cut
    Cross-Entropy) never hold the :math:`s \times b \times v` tensors and make both terms small.

    >>> lm_loss_bytes(batch=4, seq_len=128, vocab_size=50257)
    {'saved': 102926336, 'backward_extra': 205852672}
    """
    n = checks.positive_int("batch", batch) * checks.positive_int("seq_len", seq_len) \
        * checks.positive_int("vocab_size", vocab_size)
    return {"saved": 4 * n, "backward_extra": 8 * n}


def peak_training(n_params: int, activation_bytes: int, scheme: str = "fp32_adam", backward_extra: int = 0) -> int:
    r"""Peak of a steady-state training step with Adam, corrected: the larger of two moments.

    During the forward pass the weights, the optimizer state and the activations are live,
    but no gradients: the previous step's were freed by ``zero_grad``. At the end of the
    backward pass the gradients are live and the activations freed. So the peak is
    :math:`\max(M_\text{states} - M_\text{grads} + A + T,\; M_\text{states})`, not
    :math:`M_\text{states} + A` (the article's ``16N + activations``), where ``backward_extra``
    :math:`T` is what the start of the backward pass adds on top of the activations (a language
    model's loss: ``lm_loss_bytes(...)["backward_extra"]``).

    It assumes that ``zero_grad(set_to_none=True)`` (PyTorch's default) frees the gradients
    before the next forward pass and that a step has one batch: with gradient accumulation the
    gradients stay alive through the later forward passes, and :math:`M_\text{states} + A`
    holds. Leaves out temporaries of the optimizer's own step, which the memory lab measures.

    >>> peak_training(1_000_000, activation_bytes=10_000_000)   # 12 N + A
    22000000
    >>> peak_training(1_000_000, activation_bytes=1_000_000)    # 16 N: the gradients win
    16000000
    """
    states = training_states(n_params, scheme)
    total = sum(states.values())
    gradients = sum(v for k, v in states.items() if "gradients" in k)
    return max(total - gradients + checks.nonnegative_int("activation_bytes", activation_bytes)
               + checks.nonnegative_int("backward_extra", backward_extra), total)


def report(params: ParamCount, batch: int = 1, seq_len: int | None = None, dtype: str = "fp32") -> dict[str, Any]:
    """Every memory estimate of this module for one model, in whole bytes, grouped for display.

    Fractional estimates (the 1.2x rule, int4 weights of an odd count) are rounded up.

    ``seq_len`` defaults to the model's number of positions and may not exceed it. The
    activation formulas assume 16-bit activations, as their sources do. ``autocast_peak`` is
    the corrected peak in one precision regime, mixed precision as ``torch.autocast`` runs it:
    fp32 weights, gradients and Adam state, 16-bit activations (Korthikanti et al.) and, for a
    decoder, the fp32 loss of :func:`lm_loss_bytes` (``lm_loss_peak``, saved plus backward).

    >>> from llmedu.params import from_config, preset
    >>> r = report(from_config(preset("gpt2")), batch=1, seq_len=1024, dtype="fp16")
    >>> r["inference"]["kv_cache"]
    37748736
    """
    s = params.shape
    seq = s.n_positions if seq_len is None else checks.positive_int("seq_len", seq_len)
    if seq > s.n_positions:
        raise ValueError(f"seq_len ({seq}) must not exceed the model's positions ({s.n_positions}); "
                         f"allowed: 1 to {s.n_positions}")
    b = checks.positive_int("batch", batch)
    n, d, layers = params.total, s.d_model, s.n_layers
    weights = weights_bytes(n, dtype)
    inference = {"weights": weights, "article_2x": inference_article(n, dtype),
                 "eleuther_1.2x": inference_eleuther(n, dtype)}
    if s.architecture == "decoder":
        inference["kv_cache"] = kv_cache_bytes(layers, d, seq, b, dtype)
        inference["eleuther_1.2x_plus_kv_cache"] = inference["eleuther_1.2x"] + inference["kv_cache"]
    korthikanti = layers * activations_per_layer_korthikanti(b, seq, d, s.n_heads)
    totals = {
        "article_activations": activations_article(layers, b, seq, d, s.vocab_size),
        "korthikanti_activations": korthikanti,
        "article_peak": peak_article(n, layers, b, seq, d, s.vocab_size),
    }
    loss = {"saved": 0, "backward_extra": 0}
    if s.architecture == "decoder":
        loss = lm_loss_bytes(b, seq, s.vocab_size)
        totals["lm_loss_peak"] = loss["saved"] + loss["backward_extra"]
    totals["autocast_peak"] = peak_training(n, korthikanti + loss["saved"], "autocast_adam", loss["backward_extra"])
    return whole_bytes({
        "n_params": n, "dtype": dtype, "batch": b, "seq_len": seq,
        "weights_by_dtype": {name: weights_bytes(n, name) for name in units.DTYPE_BYTES},
        "inference": inference,
        "training_states": {scheme: sum(training_states(n, scheme).values()) for scheme in TRAINING_STATES},
        "activations_per_layer": {
            "article_printed": activations_per_layer_article(b, seq, d),
            "article_parts": activations_per_layer_article_parts(b, seq, d),
            "korthikanti": activations_per_layer_korthikanti(b, seq, d, s.n_heads),
        },
        "training_totals": totals,
    })


def whole_bytes(value: Any) -> Any:
    """``value`` with every number rounded up to an ``int`` (nested dicts included)."""
    if isinstance(value, dict):
        return {key: whole_bytes(item) for key, item in value.items()}
    if isinstance(value, float):
        return math.ceil(value)
    return value
