"""GGUF files as ``llama.cpp`` writes them: the block type of every tensor, and the file's size.

A GGUF "file type" is not one format for every tensor: ``llama-quantize`` picks a type per tensor
(``llama_tensor_get_type_impl`` in ``src/llama-quant.cpp``). Its rules for the file types here
(:data:`FILE_TYPES`) and a dense or Mixtral-style decoder:

* the output layer, or the embeddings where the head is tied to them, in Q6_K (in Q8_0 in a Q8_0
  file, or where its rows do not fill the base type's blocks); untied embeddings in the base type;
* Q8_0, Q6_K, Q5_1, Q5_0, Q4_1 and Q4_0 files: every other matrix in the base type;
* Q4_K_M, on a base of Q4_K: in an eight-expert model (Mixtral) the value and key projections in
  Q8_0 and the attention's output in Q5_K; the value projection (or a fused q/k/v) and the FFN's
  down projection in Q6_K in the layers ``use_more_bits`` picks (the first and last eighth, and
  every third layer between); in a Llama model of 80 layers with grouped-query attention
  (llama.cpp's "70B") the other value projections in Q5_K;
* one-dimensional tensors (norms, biases) and Mixtral's router stay as the converter wrote them,
  in fp32;
* a matrix whose rows are not a multiple of its type's block (256 for the k-quants) falls back:
  Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, and to fp16 where even 32 does not divide them.

The test suite checks the sizes against those llama.cpp's own ``llama-bench`` reports for real
files. Tensors follow the families' GGUF layouts (Phi-3 fuses q/k/v and gate/up).
:func:`model_file_bytes` prices a model in any format: GGUF's file types by these rules, the
others (NF4, GPTQ, AWQ) with the embeddings, head and norms kept in bf16 as their libraries keep
them, 16- and 32-bit formats whole. Leaves out the other file types (Q2_K, the Q3_K and Q5_K
recipes, Q4_K_S, the IQ types), an importance matrix (without one, these types' rules do not use
it), a user's ``--tensor-type`` overrides, and the file's header and metadata (kilobytes).
:func:`bytes_by_type` gives a file's bytes per block type, as the ``gguf`` package reports them.
"""

from __future__ import annotations

from llmedu import checks, decoders, weight_formats
from llmedu.decoders import DecoderShape

#: GGUF file types and their base block type.
FILE_TYPES = {"q8_0": "q8_0", "q6_k": "q6_k", "q5_1": "q5_1", "q5_0": "q5_0", "q4_k_m": "q4_k", "q4_1": "q4_1",
              "q4_0": "q4_0"}
RECIPES = tuple(FILE_TYPES)
#: The type a matrix falls back to when its rows do not fill its blocks (tensor_type_fallback).
FALLBACK = {"q4_k": "q5_0", "q5_k": "q5_1", "q6_k": "q8_0"}


def use_more_bits(layer: int, n_layers: int) -> bool:
    """llama.cpp's choice of layers that get more bits: the first and last eighth, every third between.

    >>> [i for i in range(32) if use_more_bits(i, 32)]
    [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
    """
    return layer < n_layers // 8 or layer >= 7 * n_layers // 8 or (layer - n_layers // 8) % 3 == 2


def _fit(kind: str, row: int) -> str:
    """The type a matrix with rows of ``row`` weights really gets when ``kind`` is wanted."""
    block = weight_formats.FORMATS[kind].block
    if row % block == 0:
        return kind
    fallback = FALLBACK.get(kind, kind)
    return fallback if row % weight_formats.FORMATS[fallback].block == 0 else "fp16"


def tensors(s: DecoderShape) -> list[tuple[str, str, int, int]]:
    """Every tensor of a GGUF file of the model: (name, role, weights, row length).

    Roles: ``token_embd``, ``output``, ``attn_q``, ``attn_k``, ``attn_v``, ``attn_qkv``,
    ``attn_output``, ``ffn_gate``, ``ffn_up``, ``ffn_down``, ``router``, ``vector`` (norms, biases).
    """
    d, e, f = s.d_model, s.head_dim, s.d_ff
    q, kv, experts = s.n_heads * e, s.n_kv_heads * e, max(s.n_experts, 1)
    count = decoders.count(s, output_head="config")
    out = [("token_embd", "token_embd", s.vocab_size * d, d)]
    for i in range(s.n_layers):
        if s.family == "phi3":
            attention = [("attn_qkv", (q + 2 * kv) * d, d)]
            ffn = [("ffn_up", 2 * f * d, d), ("ffn_down", f * d, f)]
        else:
            attention = [("attn_q", q * d, d), ("attn_k", kv * d, d), ("attn_v", kv * d, d)]
            ffn = [("ffn_gate", experts * f * d, d), ("ffn_up", experts * f * d, d), ("ffn_down", experts * f * d, f)]
        out += [(f"blk.{i}.{role}", role, n, row) for role, n, row in attention + [("attn_output", d * q, q)] + ffn]
        if s.n_experts:
            out.append((f"blk.{i}.ffn_gate_inp", "router", d * s.n_experts, d))
    if count.components["output_head"]:
        out.append(("output", "output", s.vocab_size * d, d))
    vectors = count.total - sum(n for _, _, n, _ in out)
    out.append(("norms and biases", "vector", vectors, 1))
    return out


def tensor_types(s: DecoderShape, recipe: str = "q4_k_m") -> list[tuple[str, str, int]]:
    """(name, block type, weights) of every tensor of a GGUF file of type ``recipe`` of the model.

    >>> types = tensor_types(decoders.shape_from_config(decoders.preset("llama-3-8b")))
    >>> sorted({(name.split(".")[-1], kind) for name, kind, _ in types if name.startswith("blk.")})[:4]
    [('attn_k', 'q4_k'), ('attn_output', 'q4_k'), ('attn_q', 'q4_k'), ('attn_v', 'q4_k')]
    """
    base = FILE_TYPES[checks.choice("GGUF file type", recipe, FILE_TYPES)]
    mixed = recipe == "q4_k_m"
    eight_experts = s.n_experts == 8
    big_llama = s.family == "llama" and s.n_layers == 80 and s.n_heads != s.n_kv_heads
    tied = not decoders.count(s, output_head="config").components["output_head"]
    result = []
    for name, role, n, row in tensors(s):
        layer = int(name.split(".")[1]) if name.startswith("blk.") else -1
        kind = base
        if role in ("vector", "router"):
            kind = "fp32"
        elif role == "output" or (role == "token_embd" and tied):
            kind = "q8_0" if base == "q8_0" or row % weight_formats.FORMATS[base].block else "q6_k"
        elif not mixed or role == "token_embd":
            pass
        elif role in ("attn_v", "attn_qkv"):
            kind = "q6_k" if use_more_bits(layer, s.n_layers) else ("q5_k" if big_llama else "q4_k")
            kind = "q8_0" if eight_experts else kind
        elif role == "attn_k" and eight_experts:
            kind = "q8_0"
        elif role == "attn_output" and eight_experts:
            kind = "q5_k"
        elif role == "ffn_down":
            kind = "q6_k" if use_more_bits(layer, s.n_layers) else "q4_k"
        result.append((name, kind if kind == "fp32" else _fit(kind, row), n))
    return result


def file_bytes(s: DecoderShape, recipe: str = "q4_k_m") -> int:
    """Bytes of the tensors of a ``recipe`` GGUF file of the model (header and metadata left out).

    >>> llama = decoders.shape_from_config(decoders.preset("llama-3-8b"))
    >>> round(file_bytes(llama) / 2**30, 2), round(8 * file_bytes(llama) / decoders.count(llama, "config").total, 2)
    (4.58, 4.89)
    """
    return sum(weight_formats.weights_bytes(n, kind) for _, kind, n in tensor_types(s, recipe))


def bytes_by_type(s: DecoderShape, recipe: str = "q4_k_m") -> dict[str, int]:
    """:func:`file_bytes` split by block type, named as GGUF names them (``f32``, ``q4_1``, ...),
    to hold against what a reader of a real file (the ``gguf`` package) finds in it.

    >>> bytes_by_type(decoders.shape_from_config(decoders.preset("smollm2-135m")), "q4_1")
    {'q8_0': 30081024, 'q4_1': 66355200, 'f32': 140544}
    """
    totals: dict[str, int] = {}
    for _, kind, n in tensor_types(s, recipe):
        name = {"fp32": "f32", "fp16": "f16"}.get(kind, kind)
        totals[name] = totals.get(name, 0) + weight_formats.weights_bytes(n, kind)
    return totals


#: Everything a model's weights can be priced in: a GGUF file type, another low-bit format, 16 or 32 bits.
WEIGHT_CHOICES = (*RECIPES, "nf4", "nf4_double_quant", "gptq_4bit_g128", "awq_4bit_g128", "bf16", "fp16", "fp32")


def model_file_bytes(count: decoders.DecoderCount, name: str) -> int:
    """Bytes of a model's weights in ``name`` (:data:`WEIGHT_CHOICES`): a GGUF file type by
    llama.cpp's rules; NF4, GPTQ or AWQ with the embeddings, head and norms in bf16; 16 or 32 bits whole.

    >>> count = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    >>> [round(model_file_bytes(count, name) / 2**30, 2) for name in ("bf16", "q8_0", "q4_k_m", "nf4")]
    [14.96, 7.95, 4.58, 5.61]
    """
    checks.choice("format", name, WEIGHT_CHOICES)
    if name in RECIPES:
        return file_bytes(count.shape, name)
    return weight_formats.file_bytes(count.components, name, kept_format=_kept_format(name))


def _kept_format(name: str) -> str:
    """Where NF4, GPTQ and AWQ leave embeddings, head and norms: bf16; a 16- or 32-bit model is whole."""
    return name if weight_formats.FORMATS[name].block == 1 else "bf16"


def bytes_read_per_step(count: decoders.DecoderCount, name: str) -> int:
    """Bytes of weights one decoding step reads: all of them but untied input embeddings, of which
    a step reads only the rows of its tokens (a tied table is read whole, as the output layer).

    >>> count = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    >>> round(bytes_read_per_step(count, "q4_k_m") / 2**30, 2)
    4.3
    """
    total = model_file_bytes(count, name)
    if not count.components["output_head"]:
        return total
    if name in RECIPES:
        embeddings = sum(weight_formats.weights_bytes(n, kind) for tensor, kind, n in tensor_types(count.shape, name)
                         if tensor == "token_embd")
    else:
        embeddings = weight_formats.weights_bytes(count.components["token_embeddings"], _kept_format(name))
    return total - embeddings
