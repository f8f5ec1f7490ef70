"""Pruning a decoder's weights by a score: magnitude and Wanda, unstructured and 2:4.

Every Linear layer of the decoder blocks (all but :data:`llmedu.lab.low_bit.KEEP`, the head tied to
the embeddings) loses a share of its weights, the ones of lowest score:

* **magnitude**: :math:`|W_{ij}|`, compared within each layer (``scope="layer"``), within each
  output row (``"row"``), or across all layers at once (``"global"``, so that layers with many small
  weights lose more);
* **Wanda** (Sun et al., 2023): :math:`|W_{ij}|\\,\\lVert X_j \\rVert_2`, the weight's magnitude
  times the norm of its input feature over calibration text, compared within each output row, as
  the paper does. A weight that multiplies a large input matters more than its size says. The
  norms come block by block (:func:`llmedu.lab.calibration.block_by_block`): each block is fed by
  the blocks already pruned, as in the paper, and inside a block each layer's inputs are computed
  with the layers before it already pruned (the reference code takes a block's norms in one pass
  of the unpruned block). :func:`input_norms` takes them instead in one pass of the unpruned model,
  which is cheap enough for a sweep over many sparsities (``prune(..., norms=...)``).

The pattern is unstructured (any share), or **2:4** semi-structured: in every 4 consecutive weights
of a row, the 2 of lowest score are zeroed, the pattern whose products the sparse tensor cores
of NVIDIA GPUs since Ampere compute at up to twice the dense rate (whole layers gain less). The weights are zeroed in a
copy of the model, with no fine-tuning after.

Leaves out structured removal (heads, neurons, layers), SparseGPT's updates of the weights that
are kept, and sparse storage (:mod:`llmedu.lab.pruning` has CSR, for the encoder).
"""

from __future__ import annotations

import copy

import torch

from llmedu import checks
from llmedu.lab import calibration, low_bit

CRITERIA = ("magnitude", "wanda")
SCOPES = ("layer", "row", "global")
PATTERNS = ("unstructured", "2:4")


def keep_mask(score: torch.Tensor, sparsity: float = 0.5, scope: str = "layer", pattern: str = "unstructured") -> torch.Tensor:
    """A 0/1 mask of a 2-D ``score`` that zeroes the lowest ``sparsity`` share, in the whole matrix
    (``scope="layer"``) or in each row (``"row"``); or, for ``pattern="2:4"``, the 2 lowest of every 4
    consecutive entries of a row (``sparsity`` and ``scope`` are then not used).

    Scores equal to the last one zeroed are zeroed with it (the share can come out a little above
    ``sparsity``); in 2:4, of equal scores the first in the row is kept. Either way the mask does not
    depend on how a sort breaks ties.

    >>> keep_mask(torch.tensor([[4.0, 1.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]]), pattern="2:4")
    tensor([[1., 0., 1., 0.],
            [0., 0., 1., 1.]])
    >>> keep_mask(torch.tensor([[4.0, 1.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]]), 0.5, scope="layer")
    tensor([[1., 0., 1., 0.],
            [0., 0., 1., 1.]])
    """
    checks.choice("pattern", pattern, PATTERNS)
    rows, columns = score.shape
    if pattern == "2:4":
        if columns % 4:
            raise ValueError(f"2:4 needs rows whose length is a multiple of 4, got {columns}")
        groups = score.reshape(rows, columns // 4, 4)
        mask = torch.zeros_like(groups)
        mask.scatter_(-1, groups.argsort(dim=-1, descending=True, stable=True)[..., :2], 1.0)
        return mask.reshape(rows, columns)
    by_row = checks.choice("scope", scope, ("layer", "row")) == "row"
    amount = round(checks.share("sparsity", sparsity) * (columns if by_row else score.numel()))
    if not amount:
        return torch.ones_like(score)
    threshold = score.kthvalue(amount, dim=1, keepdim=True).values if by_row else score.flatten().kthvalue(amount).values
    return (score > threshold).to(score.dtype)


def input_norms(model: torch.nn.Module, ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """The L2 norm of each input feature of every block Linear layer of decoder ``model`` over the
    calibration tokens ``ids`` (rows × tokens), by layer name, from one pass of the model as it is:
    Wanda's :math:`\\lVert X_j \\rVert_2` without the block-by-block pass of :func:`prune` (every
    layer's inputs come from the unpruned layers before it). Taken in fp32."""
    norms: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module, inputs, output):
            norms[name] = inputs[0].reshape(-1, inputs[0].shape[-1]).float().norm(dim=0)
        return hook

    handles = [module.register_forward_hook(keep(name)) for name, module in low_bit.quantized_linears(model)]
    try:
        with torch.inference_mode():
            model(input_ids=ids, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return norms


def prune(model: torch.nn.Module, sparsity: float = 0.5, criterion: str = "magnitude", scope: str | None = None,
          pattern: str = "unstructured", ids: torch.Tensor | None = None,
          norms: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
    """A copy of decoder ``model`` whose block Linear weights of lowest score are zeroed.

    ``criterion="magnitude"`` needs no data; its ``scope`` is ``"layer"`` (the default), ``"row"`` or
    ``"global"``. ``"wanda"`` needs either calibration tokens ``ids`` (rows × tokens), whose input norms
    it takes block by block as the model is pruned, or the norms of one pass, ``norms`` (from
    :func:`input_norms`, by layer name); its scope is ``"row"`` (the default, as in the paper) or
    ``"layer"``. ``pattern="2:4"`` ignores ``sparsity`` and ``scope``
    (it is 50 % by construction).
    """
    checks.choice("criterion", criterion, CRITERIA)
    scope = checks.choice("scope", scope or ("row" if criterion == "wanda" else "layer"), SCOPES)
    checks.choice("pattern", pattern, PATTERNS)
    checks.share("sparsity", sparsity)
    model = copy.deepcopy(model)
    if criterion == "wanda":
        if (ids is None) == (norms is None):
            raise ValueError("Wanda needs one of: calibration tokens ids, a (rows, tokens) tensor, "
                             "or norms, the dict that input_norms returns")
        if scope == "global":
            raise ValueError("Wanda compares the weights of a row (scope='row') or of a layer ('layer'), not 'global'")

        def zero(layer: torch.nn.Linear, feature_norms: torch.Tensor) -> None:  # Wanda's score, |W_ij| ||X_j||
            layer.weight.mul_(keep_mask(layer.weight.abs() * feature_norms, sparsity, scope, pattern))

        if norms is not None:  # one pass of the unpruned model
            layers = low_bit.quantized_linears(model)
            missing = [name for name, _ in layers if name not in norms]
            if missing:
                raise ValueError(f"norms has no entry for {len(missing)} layers of this model, the first {missing[0]!r}")
            with torch.no_grad():
                for name, layer in layers:
                    zero(layer, norms[name])
            return model

        def zero_group(layers: list[torch.nn.Linear], inputs: torch.Tensor) -> None:  # block by block
            group_norms = inputs.float().norm(dim=0)
            for layer in layers:
                zero(layer, group_norms)

        return calibration.block_by_block(model, ids, zero_group)
    layers = [module for _, module in low_bit.quantized_linears(model)]
    with torch.no_grad():
        if scope == "global" and pattern == "unstructured":
            magnitudes = torch.cat([layer.weight.detach().abs().flatten() for layer in layers])
            amount = round(sparsity * magnitudes.numel())
            threshold = float(magnitudes.kthvalue(amount).values) if amount else -1.0
            for layer in layers:
                layer.weight.mul_((layer.weight.abs() > threshold).float())
        else:
            for layer in layers:
                layer.weight.mul_(keep_mask(layer.weight.abs(), sparsity, scope, pattern))
    return model


def sparsity_of(model: torch.nn.Module) -> dict[str, float]:
    """The share of zeros in each block Linear weight of ``model``, by name, and ``"all"`` of them together."""
    layers = low_bit.quantized_linears(model)
    shares = {name: float((module.weight == 0).float().mean()) for name, module in layers}
    zeros = sum(int((module.weight == 0).sum()) for _, module in layers)
    shares["all"] = zeros / sum(module.weight.numel() for _, module in layers)
    return shares
