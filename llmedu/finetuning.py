"""Memory of fine-tuning a modern decoder: activations, full / 8-bit Adam / LoRA / QLoRA, ZeRO and tensor parallelism.

**Activations** (:func:`layer_activation_bytes`, :func:`activation_bytes`) are counted tensor by
tensor as transformers 5 saves them for backward in a bf16 Llama-style layer (Llama, Mistral,
Qwen2, Qwen3): each RMSNorm keeps an fp32 copy of its input, its fp32 inverse root and its bf16
normalized input; every trained matrix keeps its input; SiLU and the gate's product keep their
inputs (:math:`8sbf`); attention keeps, with ``"sdpa"`` (a FlashAttention-style kernel: no
:math:`s^2` term), queries, keys and values at their own widths, the output and an fp32
log-sum-exp per head and token, or with ``"eager"`` the keys and values repeated to every query
head and the probabilities twice (:math:`4bhs^2` in fp32, :math:`2bhs^2` in bf16). The test suite
holds every term against what autograd really saves, on random shapes. With frozen matrices
(LoRA, QLoRA) a matrix without an adapter keeps nothing, an adapter keeps its input and its
:math:`r`-wide middle. Gradient checkpointing keeps each layer's input and recomputes one layer
at a time in the backward pass.

**Model states** (:func:`model_states`), all with the model in bf16 as the activations are
counted: full fine-tuning with bf16 weights and gradients and fp32 master weights in the
optimizer, with fp32 Adam moments (16 bytes a parameter, the ZeRO paper's mixed-precision Adam;
Megatron and DeepSpeed by default also keep a bf16 model's gradients in fp32 buffers, 4 bytes
more) or bitsandbytes' 8-bit Adam (block-wise 8-bit moments, Dettmers et al. 2022, with an fp32
absmax per 256 values as bitsandbytes stores them since 2024: 10 bytes); LoRA of rank ``r`` on
chosen projections (Hu et al. 2021: the base frozen in bf16, the adapters trained in fp32 with
Adam); QLoRA (Dettmers et al. 2023: the base in NF4 with double quantization, and the embeddings,
head and norms, which bitsandbytes does not quantize, in fp32, as peft's
``prepare_model_for_kbit_training`` casts them; the activations are counted as for a bf16 base). **More than one GPU** (:func:`zero_states_per_device`,
:func:`tensor_parallel_per_device`): the ZeRO stages of Rajbhandari et al. 2020 and Megatron's
tensor parallelism (Shoeybi et al. 2019, activations as Korthikanti et al. 2022 split them).

Leaves out Gemma 2, Phi-3 and Mixtral activations (other layer code), dropout (zero in these
models), the optimizer's temporaries, allocator fragmentation and the CUDA context.
"""

from __future__ import annotations

import math
from typing import Any

from llmedu import checks, decoders, memory, weight_formats
from llmedu.decoders import DecoderShape

ATTENTION = ("sdpa", "eager")
#: The families whose layer code the activation count follows.
ACTIVATION_FAMILIES = ("llama", "mistral", "qwen2", "qwen3")
#: The seven projections of a layer, with peft's names.
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
METHODS = ("full_mixed_adam", "full_adam8bit", "lora", "qlora")
ADAM8BIT_BLOCK = 256  #: values per fp32 absmax in bitsandbytes' 8-bit Adam (the paper used 2,048)


def _sizes(s: DecoderShape) -> dict[str, tuple[int, int]]:
    """Each projection's (input, output) width."""
    q, kv = s.n_heads * s.head_dim, s.n_kv_heads * s.head_dim
    return {"q_proj": (s.d_model, q), "k_proj": (s.d_model, kv), "v_proj": (s.d_model, kv),
            "o_proj": (q, s.d_model), "gate_proj": (s.d_model, s.d_ff), "up_proj": (s.d_model, s.d_ff),
            "down_proj": (s.d_ff, s.d_model)}


def _targets(targets: Any) -> tuple[str, ...]:
    chosen = tuple(targets)
    for name in chosen:
        checks.choice("LoRA target", name, PROJECTIONS)
    return chosen


def lora_params(s: DecoderShape, rank: int, targets: Any = PROJECTIONS) -> int:
    """Trainable parameters of LoRA of rank ``r``: :math:`r\\,(d_\\text{in} + d_\\text{out})` per adapted matrix and layer.

    >>> s = decoders.shape_from_config(decoders.preset("llama-3-8b"))
    >>> lora_params(s, 16), lora_params(s, 16, ("q_proj", "v_proj"))
    (41943040, 6815744)
    """
    r = checks.positive_int("rank", rank)
    sizes = _sizes(s)
    per_layer = sum(r * sum(sizes[name]) for name in _targets(targets))
    return s.n_layers * per_layer


def layer_activation_bytes(s: DecoderShape, batch: int, seq_len: int, attention: str = "sdpa",
                           frozen: bool = False, lora_rank: int = 0, lora_targets: Any = PROJECTIONS) -> dict[str, int]:
    """Bytes one bf16 layer saves for backward, by part, as transformers 5 runs it.

    ``frozen`` is LoRA's case: the base matrices are frozen and only those in ``lora_targets``
    carry an adapter of rank ``lora_rank``. ``"sdpa"`` is counted as on a CPU, or on a GPU without
    a padding mask: with one, transformers repeats the keys and values to every query head first. The rotary tables, shared by all layers, are in
    :func:`activation_bytes`.

    >>> s = decoders.shape_from_config(decoders.preset("llama-3-8b"))
    >>> parts = layer_activation_bytes(s, batch=1, seq_len=4096)
    >>> sum(parts.values()) / 2**20
    784.53125
    """
    checks.choice("family", s.family, ACTIVATION_FAMILIES)
    checks.choice("attention", attention, ATTENTION)
    b, t = checks.positive_int("batch", batch), checks.positive_int("seq_len", seq_len)
    n, d, h, k, e, f = b * t, s.d_model, s.n_heads, s.n_kv_heads, s.head_dim, s.d_ff
    targets = _targets(lora_targets) if frozen else PROJECTIONS
    if frozen:
        checks.positive_int("lora_rank", lora_rank)
    sizes = _sizes(s)
    parts = {
        # two RMSNorms: fp32 input and inverse root; the bf16 normalized input too when the norm's scale trains
        "norms": 2 * (4 * n * d + 4 * n + (0 if frozen else 2 * n * d)),
        # the normalized inputs of attention and of the FFN, kept by q/k/v and by gate/up, and down's input
        "matrix_inputs": 0 if frozen else 2 * n * d * 2 + 2 * n * f,
        # SiLU's input, the two operands of the gate's product
        "ffn": 6 * n * f,
        # Qwen3's norms of each query and key head, as the layer's norms
        "qk_norms": ((4 if frozen else 6) * n * (h + k) * e + 4 * n * (h + k))
                    if decoders.STRUCTURE[s.family]["qk_norm"] else 0,
        # peft computes an adapter in fp32: its input cast to fp32, and its r-wide middle
        "lora": sum(4 * n * (sizes[name][0] + lora_rank) for name in targets) if frozen else 0,
    }
    if attention == "sdpa":
        # queries, keys and values at their widths, the output (o_proj's input), an fp32 log-sum-exp
        parts["attention"] = 2 * n * (2 * h * e + 2 * k * e) + 4 * b * h * t
    else:
        # queries, keys and values repeated to h heads (a copy, but for one key/value head and one
        # sequence, where it stays a view), fp32 and bf16 probabilities, o_proj's input
        repeated = e if k == 1 and b == 1 else h * e
        parts["attention"] = 2 * n * (h * e * (1 + (not frozen)) + 2 * repeated) + 6 * b * h * t * t
    return parts


def activation_bytes(s: DecoderShape, batch: int, seq_len: int, attention: str = "sdpa",
                     checkpointing: bool = False, frozen: bool = False, lora_rank: int = 0,
                     lora_targets: Any = PROJECTIONS) -> dict[str, int]:
    """Bytes a bf16 causal LM saves for backward in one step: layers, what is outside them, and the loss.

    ``layers`` is every layer's activations, or with ``checkpointing`` each layer's bf16 input
    (:math:`2sbd`) and ``recomputed``, one layer's activations, alive while its backward runs
    (the tests measure what the forward pass saves; this term is the count of one layer).
    ``outside_layers``: the rotary tables (:math:`4se`, shared by the layers and the batch; not kept with checkpointing), the final norm
    and the head's input, the token ids kept by the embedding and by the loss; ``loss``: the fp32
    log-probabilities (:func:`llmedu.memory.lm_loss_bytes`).

    >>> s = decoders.shape_from_config(decoders.preset("smollm2-135m"))
    >>> {k: round(v / 2**20, 1) for k, v in activation_bytes(s, batch=8, seq_len=512).items()}
    {'layers': 2885.2, 'recomputed': 0.0, 'outside_layers': 18.2, 'loss': 768.0}
    """
    layer = sum(layer_activation_bytes(s, batch, seq_len, attention, frozen, lora_rank, lora_targets).values())
    n, d = batch * seq_len, s.d_model
    # the final norm (with a frozen scale, no normalized copy), the head's input, token ids, the loss's count
    # the labels the loss keeps: shifted by one, a view of the padded labels (one id more) when b = 1
    labels = 8 * (n if batch > 1 else seq_len + 1)
    outside = (4 * n * d + 4 * n) + (0 if frozen else 4 * n * d + 8 * n) + labels + 4
    outside += 0 if checkpointing else 4 * seq_len * s.head_dim  # rotary cos and sin, bf16, shared by the batch
    layers = s.n_layers * (2 * n * d if checkpointing else layer)
    return {"layers": layers, "recomputed": layer if checkpointing else 0, "outside_layers": outside,
            "loss": memory.lm_loss_bytes(batch, seq_len, s.vocab_size)["saved"]}


def model_states(count: decoders.DecoderCount, method: str, lora_rank: int = 16,
                 lora_targets: Any = PROJECTIONS) -> dict[str, int]:
    """Bytes of weights, gradients and optimizer state for a fine-tuning ``method`` (:data:`METHODS`).

    >>> count = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    >>> {m: round(sum(model_states(count, m).values()) / 2**30, 1) for m in METHODS}
    {'full_mixed_adam': 119.7, 'full_adam8bit': 75.0, 'lora': 15.6, 'qlora': 7.9}
    """
    n = count.total
    method = checks.choice("method", method, METHODS)
    if method.startswith("full"):
        states = {"bf16_weights": 2 * n, "bf16_gradients": 2 * n, "fp32_master_weights": 4 * n}
        if method == "full_mixed_adam":
            return {**states, "adam_momentum": 4 * n, "adam_variance": 4 * n}
        return {**states, "adam_8bit_moments": 2 * n, "adam_absmax": 2 * 4 * math.ceil(n / ADAM8BIT_BLOCK)}
    adapters = lora_params(count.shape, lora_rank, lora_targets)
    base = 2 * n if method == "lora" else weight_formats.file_bytes(count.components, "nf4_double_quant",
                                                                     kept_format="fp32")
    return {"frozen_base": base, "adapter_weights": 4 * adapters, "adapter_gradients": 4 * adapters,
            "adapter_adam": 8 * adapters}


def training_peak(count: decoders.DecoderCount, method: str, batch: int, seq_len: int, attention: str = "sdpa",
                  checkpointing: bool = False, lora_rank: int = 16, lora_targets: Any = PROJECTIONS) -> int:
    """Peak bytes of a fine-tuning step: :func:`llmedu.memory.peak_training`'s two moments, with a
    decoder's activations, the loss's backward tensors and, with checkpointing, one recomputed layer.

    >>> count = decoders.from_config(decoders.preset("smollm2-135m"), output_head="config")
    >>> round(training_peak(count, "lora", batch=8, seq_len=512, checkpointing=True) / 2**30, 2)
    2.84
    """
    states = model_states(count, method, lora_rank, lora_targets)
    frozen = method in ("lora", "qlora")
    acts = activation_bytes(count.shape, batch, seq_len, attention, checkpointing, frozen, lora_rank, lora_targets)
    gradients = sum(v for k, v in states.items() if "gradients" in k)
    extra = memory.lm_loss_bytes(batch, seq_len, count.shape.vocab_size)["backward_extra"]
    return max(sum(states.values()) - gradients + sum(acts.values()) + extra, sum(states.values()))


ZERO_STAGES = (0, 1, 2, 3)


def zero_states_per_device(n_params: int, devices: int, stage: int) -> dict[str, float]:
    """Model states per device under data parallelism with ZeRO (mixed-precision Adam, :math:`K = 12`).

    Stage 0 replicates everything (16 bytes a parameter); stage 1 shards the optimizer state
    (fp32 master weights, momentum, variance), stage 2 also the gradients, stage 3 also the
    16-bit weights: :math:`(2 + 2 + 12)\\Psi / N_d` (Rajbhandari et al. 2020, figure 1).

    >>> [round(sum(zero_states_per_device(7_500_000_000, 64, z).values()) / 1e9, 1) for z in ZERO_STAGES]
    [120.0, 31.4, 16.6, 1.9]
    """
    n, nd = checks.nonnegative_int("n_params", n_params), checks.positive_int("devices", devices)
    z = int(checks.choice("ZeRO stage", stage, ZERO_STAGES))
    return {"fp16_weights": 2 * n / (nd if z >= 3 else 1), "fp16_gradients": 2 * n / (nd if z >= 2 else 1),
            "optimizer_states": 12 * n / (nd if z >= 1 else 1)}


def tensor_parallel_per_device(count: decoders.DecoderCount, devices: int, batch: int, seq_len: int,
                               attention: str = "sdpa") -> dict[str, float]:
    """Model states (mixed-precision Adam) and layer activations per device under tensor parallelism of degree ``t``.

    Megatron splits every attention and FFN matrix across the ``t`` devices (and the embeddings
    by vocabulary rows), so their states divide by ``t``; norms stay whole on every device. Inside
    a layer the heads and the FFN's width divide by ``t``; the norms and the inputs of the q/k/v
    and gate/up matrices, which every device needs whole, do not (Korthikanti et al. 2022's
    :math:`10 + 24/t`; sequence parallelism, left out, splits them too).

    >>> count = decoders.from_config(decoders.preset("llama-3-70b"), output_head="config")
    >>> states = tensor_parallel_per_device(count, 8, batch=1, seq_len=4096)
    >>> round(states["model_states"] / 2**30, 1), round(states["layer_activations"] / 2**20, 1)
    (131.4, 642.2)
    """
    t = checks.positive_int("devices", devices)
    s = count.shape
    if s.n_kv_heads % t or s.n_heads % t or s.d_ff % t:
        raise ValueError(f"tensor parallelism of degree {t} must divide the heads ({s.n_heads}), key/value heads "
                         f"({s.n_kv_heads}) and FFN width ({s.d_ff})")
    replicated = sum(v for k, v in count.components.items() if k in ("norms", "final_norm", "qk_norms"))
    split = count.total - replicated
    parts = layer_activation_bytes(s, batch, seq_len, attention)
    whole = parts["norms"] + 2 * batch * seq_len * s.d_model * 2  # norms, the two replicated inputs
    layer = whole + (sum(parts.values()) - whole) / t
    return {"model_states": 16 * (split / t + replicated), "layer_activations": layer}
