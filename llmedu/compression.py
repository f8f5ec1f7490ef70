"""Arithmetic of compressed weights: sparse storage, quantized storage, and what pruning removes.

Covers the bytes of a matrix stored in CSR format (:func:`csr_bytes`), the sparsity above which
CSR is smaller than the dense matrix (:func:`csr_break_even`), the same two for a bitmask format
(:func:`bitmask_bytes`, :func:`bitmask_break_even`), the bytes of weights quantized to
a few bits with a scale per group (:func:`quantized_bytes`), and the parameters that go with one
attention head (:func:`head_parameters`) or one FFN neuron (:func:`ffn_neuron_parameters`) of a
BERT-style layer. The pruning and quantization chapters hold each of them against a measurement.

Pure arithmetic, no torch. Leaves out the container's overhead (``torch.save`` adds a few
hundred bytes per tensor) and formats other than CSR and a bitmask (COO, block-sparse, 2:4).
"""

from __future__ import annotations

from llmedu import checks


def csr_bytes(rows: int, cols: int, nonzero: int, value_bytes: float = 4, index_bytes: int = 8) -> float:
    r"""Bytes of a ``rows`` x ``cols`` matrix with ``nonzero`` non-zero entries in CSR format.

    .. math:: B_\text{CSR} = \text{nnz}\,(b_v + b_i) + (\text{rows} + 1)\,b_i

    one value and one column index per non-zero entry, and one row pointer per row (plus one).
    Pruning chapter.

    >>> csr_bytes(512, 128, nonzero=6554)            # 90% sparse, fp32 values, int64 indices
    82752.0
    >>> csr_bytes(512, 128, nonzero=6554, index_bytes=4)
    54484.0
    """
    rows, cols = checks.positive_int("rows", rows), checks.positive_int("cols", cols)
    if not 0 <= checks.nonnegative_int("nonzero", nonzero) <= rows * cols:
        raise ValueError(f"nonzero must be between 0 and rows * cols = {rows * cols}, got {nonzero}")
    value_bytes = checks.positive_number("value_bytes", value_bytes)
    index_bytes = checks.positive_int("index_bytes", index_bytes)
    return nonzero * (value_bytes + index_bytes) + (rows + 1) * index_bytes


def csr_break_even(value_bytes: float = 4, index_bytes: int = 8) -> float:
    r"""The sparsity above which CSR takes fewer bytes than the dense matrix (row pointers ignored).

    .. math:: (1 - s)\,(b_v + b_i) < b_v \iff s > \frac{b_i}{b_v + b_i}

    Pruning chapter.

    >>> round(csr_break_even(4, 8), 4), csr_break_even(4, 4)
    (0.6667, 0.5)
    """
    value_bytes = checks.positive_number("value_bytes", value_bytes)
    return checks.positive_int("index_bytes", index_bytes) / (value_bytes + index_bytes)


def bitmask_bytes(rows: int, cols: int, nonzero: int, value_bytes: float = 4) -> float:
    r"""Bytes of a ``rows`` x ``cols`` matrix stored as a bitmask and its non-zero values.

    .. math:: B_\text{bitmask} = \text{nnz}\,b_v + \frac{\text{rows} \cdot \text{cols}}{8}

    one bit per entry says whether it is kept, and the kept values follow in order. Pruning chapter.

    >>> bitmask_bytes(512, 128, nonzero=6554)         # 90% sparse, fp32 values
    34408.0
    """
    rows, cols = checks.positive_int("rows", rows), checks.positive_int("cols", cols)
    if not 0 <= checks.nonnegative_int("nonzero", nonzero) <= rows * cols:
        raise ValueError(f"nonzero must be between 0 and rows * cols = {rows * cols}, got {nonzero}")
    return nonzero * checks.positive_number("value_bytes", value_bytes) + rows * cols / 8


def bitmask_break_even(value_bytes: float = 4) -> float:
    r"""The sparsity above which a bitmask and the kept values take fewer bytes than the dense matrix.

    .. math:: (1 - s)\,b_v + \tfrac{1}{8} < b_v \iff s > \frac{1}{8\,b_v}

    Pruning chapter.

    >>> bitmask_break_even(4), bitmask_break_even(1)
    (0.03125, 0.125)
    """
    return 1 / (8 * checks.positive_number("value_bytes", value_bytes))


def head_parameters(d_model: int, head_size: int) -> int:
    r"""Parameters that go with one attention head of a BERT-style layer.

    .. math:: P_\text{head} = 3\,(d\,d_h + d_h) + d\,d_h = 4\,d\,d_h + 3\,d_h

    ``head_size`` rows (and biases) of each of Q, K and V, and ``head_size`` columns of the output
    projection (whose bias stays). Pruning chapter.

    >>> head_parameters(256, 64)
    65728
    """
    d, size = checks.positive_int("d_model", d_model), checks.positive_int("head_size", head_size)
    return 4 * d * size + 3 * size


def ffn_neuron_parameters(d_model: int) -> int:
    r"""Parameters that go with one FFN neuron: a row and a bias of the first matrix, a column of the second.

    .. math:: P_\text{neuron} = 2d + 1

    Pruning chapter.

    >>> ffn_neuron_parameters(256)
    513
    """
    return 2 * checks.positive_int("d_model", d_model) + 1


def quantized_bytes(n_weights: int, bits: int, group_size: int, scale_bytes: float = 2, zero_point_bytes: float = 0) -> float:
    r"""Bytes of ``n_weights`` weights stored in ``bits`` bits, with one scale (and zero point) per group.

    .. math:: B = \frac{n\,b}{8} + \frac{n}{g}\,(b_s + b_z)

    ``group_size`` is the number of weights that share a scale: a whole row for per-channel
    int8, often 32 to 128 for int4. Quantization chapter.

    >>> quantized_bytes(4096 * 4096, bits=4, group_size=128)   # int4, an fp16 scale per 128 weights
    8650752.0
    """
    n = checks.positive_int("n_weights", n_weights)
    bits = checks.positive_int("bits", bits)
    group = checks.positive_int("group_size", group_size)
    if n % group:
        raise ValueError(f"group_size ({group}) must divide n_weights ({n})")
    zero = 0.0 if zero_point_bytes == 0 else checks.positive_number("zero_point_bytes", zero_point_bytes)
    return n * bits / 8 + n // group * (checks.positive_number("scale_bytes", scale_bytes) + zero)
