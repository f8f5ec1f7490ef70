"""Bytes of weights in low-bit formats, with the overhead each format really stores.

A low-bit format stores its weights in blocks: ``block`` weights as small integers plus, per
block, the numbers that turn them back into values (scales, minimums, zero points, sub-block
scales). Its true cost is ``block_bytes / block`` bytes a weight, more than the naive
``bits / 8`` that calculators often price int4 at. The formats (:data:`FORMATS`):

* GGUF's types as ggml defines their block structs: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (blocks of 32
  with an fp16 scale, and an fp16 minimum for the ``_1`` types) and the k-quants Q2_K to Q6_K
  (super-blocks of 256 with packed sub-block scales);
* NF4 as QLoRA stores it (Dettmers et al. 2023): 4-bit codes with an fp32 absmax per 64 weights,
  or, double-quantized, an 8-bit absmax per 64 and one fp32 constant per 256 absmaxes;
* GPTQ and AWQ at group size 128: 4-bit weights with an fp16 scale and a 4-bit zero point per
  group (GPTQ's group index, ``g_idx``, 4 bytes per input channel, which checkpoints usually
  store even without act-order, left out: about 0.2 % more for outputs 4,096 wide);
* 16-bit formats for comparison.

:func:`bits_per_weight` and :func:`weights_bytes` price one tensor; :func:`file_bytes` prices a
whole model whose embeddings, output layer and norms stay 16-bit, as bitsandbytes, GPTQ and AWQ
leave them. GGUF files, whose types llama.cpp picks tensor by tensor, are in
:mod:`llmedu.gguf_recipes`. Leaves out the file's header and metadata, and per-channel formats,
whose overhead depends on the row length (:func:`llmedu.compression.quantized_bytes` takes any
group size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmedu import checks


@dataclass(frozen=True)
class WeightFormat:
    """A block format: ``block`` weights stored in ``block_bytes`` bytes, and where the format is defined."""

    block: int
    block_bytes: float
    source: str


QK_K = 256  #: weights in a super-block of GGUF's k-quants

#: Every format by name. The GGUF sizes are ggml's block structs (ggml-common.h), field by field.
FORMATS: dict[str, WeightFormat] = {
    "fp32": WeightFormat(1, 4, "IEEE 754 single precision"),
    "bf16": WeightFormat(1, 2, "bfloat16"),
    "fp16": WeightFormat(1, 2, "IEEE 754 half precision"),
    "q8_0": WeightFormat(32, 2 + 32, "GGUF block_q8_0: fp16 scale, 32 int8"),
    "q5_1": WeightFormat(32, 2 + 2 + 4 + 16, "GGUF block_q5_1: fp16 scale and minimum, 32 high bits, 32 nibbles"),
    "q5_0": WeightFormat(32, 2 + 4 + 16, "GGUF block_q5_0: fp16 scale, 32 high bits, 32 nibbles"),
    "q4_1": WeightFormat(32, 2 + 2 + 16, "GGUF block_q4_1: fp16 scale and minimum, 32 nibbles"),
    "q4_0": WeightFormat(32, 2 + 16, "GGUF block_q4_0: fp16 scale, 32 nibbles"),
    "q6_k": WeightFormat(QK_K, QK_K // 2 + QK_K // 4 + QK_K // 16 + 2,
                         "GGUF block_q6_K: low nibbles, high 2 bits, 16 int8 scales, fp16 d"),
    "q5_k": WeightFormat(QK_K, 2 + 2 + 12 + QK_K // 8 + QK_K // 2,
                         "GGUF block_q5_K: fp16 d and dmin, 12 bytes of 6-bit scales and mins, high bits, nibbles"),
    "q4_k": WeightFormat(QK_K, 2 + 2 + 12 + QK_K // 2,
                         "GGUF block_q4_K: fp16 d and dmin, 12 bytes of 6-bit scales and mins, nibbles"),
    "q3_k": WeightFormat(QK_K, QK_K // 8 + QK_K // 4 + 12 + 2,
                         "GGUF block_q3_K: high-bit mask, 2-bit values, 12 bytes of scales, fp16 d"),
    "q2_k": WeightFormat(QK_K, QK_K // 16 + QK_K // 4 + 2 + 2,
                         "GGUF block_q2_K: 16 bytes of 4-bit scales and mins, 2-bit values, fp16 d and dmin"),
    "nf4": WeightFormat(64, 64 / 2 + 4, "QLoRA NF4: 64 4-bit codes and an fp32 absmax"),
    "nf4_double_quant": WeightFormat(64, 64 / 2 + 1 + 4 / 256,
                                     "QLoRA NF4 with double quantization: an 8-bit absmax per 64, "
                                     "an fp32 constant per 256 absmaxes"),
    "gptq_4bit_g128": WeightFormat(128, 128 / 2 + 2 + 0.5, "GPTQ, 4 bits, group 128: fp16 scale, 4-bit zero point"),
    "awq_4bit_g128": WeightFormat(128, 128 / 2 + 2 + 0.5, "AWQ, 4 bits, group 128: fp16 scale, 4-bit zero point"),
}


def bits_per_weight(name: str) -> float:
    """The bits a weight really costs in format ``name``, metadata included.

    >>> bits_per_weight("q4_0"), bits_per_weight("q4_k"), bits_per_weight("q6_k")
    (4.5, 4.5, 6.5625)
    >>> round(bits_per_weight("nf4_double_quant"), 3)
    4.127
    """
    fmt = FORMATS[checks.choice("format", name, FORMATS)]
    return 8 * fmt.block_bytes / fmt.block


def weights_bytes(n_weights: int, name: str) -> int:
    """Bytes of ``n_weights`` weights in format ``name``: whole blocks, the last one padded.

    >>> weights_bytes(4096 * 4096, "q4_0"), weights_bytes(4096 * 4096, "fp16")
    (9437184, 33554432)
    """
    fmt = FORMATS[checks.choice("format", name, FORMATS)]
    return math.ceil(math.ceil(checks.nonnegative_int("n_weights", n_weights) / fmt.block) * fmt.block_bytes)


#: Components of a count that quantizers usually leave in 16 bits.
KEPT_16BIT = ("token_embeddings", "position_embeddings", "output_head", "norms", "final_norm", "qk_norms",
              "router", "layer_norms", "final_layer_norm", "embedding_layer_norm")


def file_bytes(components: dict[str, int], name: str, kept: tuple[str, ...] = KEPT_16BIT,
               kept_format: str = "bf16") -> int:
    """Bytes of a model's weights with the components ``kept`` in ``kept_format`` and the rest in ``name``.

    ``components`` is a parameter count by component (:attr:`llmedu.decoders.DecoderCount.components`
    or :attr:`llmedu.params.ParamCount.components`); each component is priced as one tensor.

    >>> from llmedu import decoders
    >>> count = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    >>> round(file_bytes(count.components, "q4_k") / 2**30, 2), round(file_bytes(count.components, "bf16") / 2**30, 2)
    (5.61, 14.96)
    """
    checks.choice("format", name, FORMATS)
    checks.choice("kept_format", kept_format, FORMATS)
    return sum(weights_bytes(n, kept_format if component in kept else name) for component, n in components.items())
