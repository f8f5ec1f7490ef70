"""GPTQ by hand: weights rounded one input column at a time, each rounding error compensated.

Round-to-nearest (:mod:`llmedu.lab.low_bit`) rounds every weight on its own. GPTQ (Frantar et
al., 2022) minimizes the error of the layer's *outputs* on calibration inputs ``X`` instead,
:math:`\\lVert W X^\\top - \\hat W X^\\top \\rVert^2`, whose Hessian is :math:`H = 2X^\\top X`. It
rounds column ``j`` (one input feature, every output row at once), then spreads the rounding
error over the columns not yet rounded, in the proportions that :math:`H^{-1}` prescribes, so
that correlated input features make up for each other:

.. math:: \\delta = \\frac{w_j - \\hat w_j}{[U]_{jj}}, \\qquad w_k \\leftarrow w_k - \\delta\\,[U]_{jk}
          \\quad (k > j),

with :math:`U` the upper Cholesky factor of :math:`(H + \\lambda I)^{-1}`, :math:`\\lambda` being 1 % of
:math:`H`'s mean diagonal (the damping that keeps the factorization possible when there are fewer
calibration tokens than input features). Columns go in blocks of :data:`BLOCK`; inside a block
the updates are applied one by one, the rest of the matrix receives the block's errors in one
product (the paper's lazy batch updates). With groups, a group's scale (and minimum) are taken
from its weights as they stand when its first column is reached, in-block updates included (the
reference code takes them before the block's updates, so its rounded weights differ from these
in detail, at the same output error).

:func:`gptq_model` quantizes every Linear layer but the head, block by block as the paper does,
each block fed by the blocks already quantized; inside a block, layer after layer in the order
of the forward pass (the reference code's ``--true-sequential``), through
:func:`llmedu.lab.calibration.block_by_block`. Leaves out the column reordering by the Hessian's
diagonal that the reference code added ("act order", which with groups needs a kernel that knows
the order) and
packing the integers into a file (the quantized weights come back in fp32, as a kernel that
dequantizes them computes with them).
"""

from __future__ import annotations

import copy

import torch

from llmedu import checks
from llmedu.lab import calibration, low_bit

#: Columns per block of lazy updates; a multiple of every group size used with it.
BLOCK = 128
#: Damping added to the Hessian's diagonal, as a share of its mean.
DAMP = 0.01


def _inverse_factor(gram: torch.Tensor, damp: float) -> torch.Tensor:
    """Upper Cholesky factor of the damped :math:`H^{-1}` (fp32); dead input features get a unit diagonal."""
    h = gram.float().clone()
    dead = h.diagonal() == 0
    h[dead, dead] = 1.0
    h.diagonal().add_(damp * h.diagonal().mean())
    return torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)


def gptq_quantize(weight: torch.Tensor, gram: torch.Tensor, bits: int = 4, group_size: int | None = 32,
                  symmetric: bool = True, damp: float = DAMP) -> torch.Tensor:
    """``weight`` (rows × columns) rounded by GPTQ onto ``bits``-bit grids, returned dequantized (fp32).

    ``gram`` is :math:`X^\\top X` of the layer's calibration inputs (columns × columns); grids as
    :func:`llmedu.lab.low_bit.group_quantize` (groups of ``group_size`` along each row, ``None``: one
    per row). Where ``gram`` is diagonal, no error has anywhere to go and the result is round-to-nearest.
    Rows are independent: matrices that share their inputs can be stacked and rounded in one call.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be a matrix (2 dimensions), got {weight.dim()}")
    rows, columns = weight.shape
    if gram.shape != (columns, columns):
        raise ValueError(f"gram must be {columns} × {columns} for a weight of {columns} columns, got {tuple(gram.shape)}")
    if group_size is not None and (columns % checks.positive_int("group_size", group_size) or BLOCK % group_size):
        raise ValueError(f"group_size {group_size} must divide the rows' length {columns} and the block of {BLOCK}")
    u = _inverse_factor(gram, checks.positive_number("damp", damp))
    diagonal = u.diagonal().tolist()
    w = weight.detach().float().clone()
    w[:, gram.diagonal() == 0] = 0
    if group_size is None:
        scale, offset, levels = low_bit.grid(w, bits, symmetric)
        scale, offset = scale[:, 0], offset[:, 0]
    for start in range(0, columns, BLOCK):
        end = min(start + BLOCK, columns)
        block, errors = w[:, start:end], torch.empty(rows, end - start)
        for i in range(end - start):
            if group_size is not None and i % group_size == 0:
                scale, offset, levels = low_bit.grid(block[:, i:i + group_size], bits, symmetric)
                scale, offset = scale[:, 0], offset[:, 0]
            column = block[:, i]
            rounded = low_bit.to_grid(column, scale, offset, levels).mul_(scale).add_(offset)
            error = errors[:, i]
            torch.sub(column, rounded, out=error).div_(diagonal[start + i])
            block[:, i:].addr_(error, u[start + i, start + i:end], alpha=-1)
            column.copy_(rounded)  # what the update made of it, to the last bit
        w[:, end:].addmm_(errors, u[start:end, end:], alpha=-1)
    return w


def gptq_model(model: torch.nn.Module, ids: torch.Tensor, bits: int = 4, group_size: int | None = 32,
               symmetric: bool = True) -> torch.nn.Module:
    """A copy of a decoder ``model`` whose Linear layers (but :data:`llmedu.lab.low_bit.KEEP`) are
    rounded by :func:`gptq_quantize`, block by block, as the paper does it.

    The calibration tokens ``ids`` (rows × tokens) go through the blocks in order
    (:func:`llmedu.lab.calibration.block_by_block`), each block fed the outputs of the blocks already
    quantized. Inside a block, the layers are quantized in the order the forward pass uses them,
    each from inputs computed with the layers before it already quantized; layers that receive the
    same input (query, key and value; gate and up) are stacked and rounded together, with one Gram
    matrix.
    """
    def round_together(layers: list[torch.nn.Linear], inputs: torch.Tensor) -> None:
        rounded = gptq_quantize(torch.cat([layer.weight for layer in layers]), calibration.gram(inputs), bits, group_size,
                                symmetric)
        for layer, part in zip(layers, rounded.split([layer.out_features for layer in layers])):
            layer.weight.copy_(part)

    model = copy.deepcopy(model)
    calibration.block_by_block(model, ids, round_together)
    return model
