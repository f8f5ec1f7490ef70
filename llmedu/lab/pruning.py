"""Pruning the labs' BERT models: unstructured magnitude pruning, and removing heads and neurons.

Unstructured pruning (:func:`magnitude_prune`) zeroes the weights of smallest magnitude in the
encoder's Linear layers, per layer or globally, through ``torch.nn.utils.prune``: the weight
becomes ``weight_orig * weight_mask``, so fine-tuning keeps the zeros, and :func:`make_permanent`
(``prune.remove``) folds the mask into a plain weight that still has every zero stored. Only a
sparse storage format makes the file smaller (:func:`sparse_size`); nothing here makes dense
matrix products faster.

Structured pruning removes whole attention heads (:func:`remove_heads`, ranked by
:func:`head_importance`) or FFN neurons (:func:`remove_ffn_neurons`): the matrices really shrink,
so the model gets smaller and faster. transformers 5 removed ``prune_heads``; this module does it
with ``transformers.pytorch_utils.prune_linear_layer``.

:func:`layer_sensitivity` prunes one layer at a time to show which layers can lose most, and
:func:`matmul_times` times a dense and a CSR sparse matrix product, the one place where
unstructured sparsity can buy speed on a CPU.

Leaves out pruning embeddings, the pooler and the classifier, and iterative schedules.
"""

from __future__ import annotations

import io
import re
import statistics
import warnings
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch.nn.utils import prune

from llmedu import checks, i18n
from llmedu.lab import native_timer
from llmedu.lab.train import Batch, evaluate, logits_of

METHODS = ("global", "layer")
#: What each Linear layer of a BERT layer does, in the order the layer applies them.
ROLES = {"attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
         "attention.output.dense": "attention output", "intermediate.dense": "FFN in", "output.dense": "FFN out"}


def encoder_linears(model: torch.nn.Module) -> list[tuple[str, torch.nn.Linear]]:
    """The Linear layers of a BERT model's encoder (attention and FFN), by name."""
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and ".encoder." in f".{name}"]


def linear_label(name: str, lang: str = "en") -> str:
    """A short label for an encoder Linear layer's module name, in ``lang`` (see :mod:`llmedu.i18n`).

    >>> linear_label("bert.encoder.layer.1.attention.output.dense")
    'layer 1 attention output'
    """
    match = re.fullmatch(r"(?:.*\.)?layer\.(\d+)\.(.+)", name)
    if not match or match.group(2) not in ROLES:
        raise ValueError(f"not the name of an encoder Linear layer of BERT: {name!r}")
    role = i18n.translate(ROLES[match.group(2)], lang)
    return i18n.translate("layer {layer} {role}", lang).format(layer=match.group(1), role=role)


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """A 0/1 mask that zeroes the ``sparsity`` share of entries with the smallest magnitude.

    >>> magnitude_mask(torch.tensor([[0.1, -3.0], [2.0, -0.5]]), 0.5)
    tensor([[0., 1.],
            [1., 0.]])
    """
    amount = round(checks.share("sparsity", sparsity) * weight.numel())
    mask = torch.ones_like(weight)
    if amount:
        mask.view(-1)[torch.topk(weight.abs().view(-1), amount, largest=False).indices] = 0
    return mask


def magnitude_prune(model: torch.nn.Module, sparsity: float, method: str = "global") -> torch.nn.Module:
    """Zero the smallest-magnitude weights of the encoder's Linear layers, in place.

    ``method="layer"`` removes ``sparsity`` of each layer's weights; ``"global"`` ranks all of
    them together (L1 magnitude), so layers with many small weights lose more.
    """
    checks.share("sparsity", sparsity)
    checks.choice("method", method, METHODS)
    targets = [(module, "weight") for _, module in encoder_linears(model)]
    if method == "global":
        prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    else:
        for module, name in targets:
            prune.l1_unstructured(module, name=name, amount=sparsity)
    return model


def make_permanent(model: torch.nn.Module) -> torch.nn.Module:
    """Fold every pruning mask into its weight (``prune.remove``): the zeros stay, the mask goes."""
    for _, module in encoder_linears(model):
        if prune.is_pruned(module):
            prune.remove(module, "weight")
    return model


def sparsity(model: torch.nn.Module) -> float:
    """Share of zeros among the weights of the encoder's Linear layers."""
    weights = [module.weight for _, module in encoder_linears(model)]
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


def layer_sparsities(model: torch.nn.Module) -> dict[str, float]:
    """Share of zeros in the weight of each of the encoder's Linear layers, by module name."""
    return {name: int((module.weight == 0).sum()) / module.weight.numel() for name, module in encoder_linears(model)}


def encoder_weight_count(model: torch.nn.Module) -> int:
    """Entries of the weight matrices of the encoder's Linear layers (what pruning works on)."""
    return sum(module.weight.numel() for _, module in encoder_linears(model))


def to_csr(weight: torch.Tensor, index_dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """``weight`` in CSR format with indices of ``index_dtype``, in storage of its own.

    >>> to_csr(torch.tensor([[0.0, 2.0], [0.0, 0.0]])).values()
    tensor([2.])
    """
    if index_dtype not in (torch.int32, torch.int64):
        raise ValueError(f"index_dtype must be torch.int32 or torch.int64, got {index_dtype}")
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        csr = weight.detach().to_sparse_csr()
        # copy=True: the indices of to_sparse_csr() can be views of a larger buffer, which
        # torch.save would write whole.
        return torch.sparse_csr_tensor(csr.crow_indices().to(index_dtype, copy=True),
                                       csr.col_indices().to(index_dtype, copy=True),
                                       csr.values().clone(), size=weight.shape)


def sparse_size(model: torch.nn.Module, index_dtype: torch.dtype = torch.int64) -> int:
    """Bytes of ``torch.save`` of the state dict with the encoder's Linear weights in CSR format.

    CSR keeps the non-zero values, their column indices and one row pointer per row, so it pays
    off only when enough weights are zero: with 4-byte values and 8-byte indices, above 2/3
    sparsity; with 4-byte indices, above 1/2.
    """
    sparse_names = {f"{name}.weight" for name, _ in encoder_linears(model)}
    state = {key: to_csr(tensor, index_dtype) if key in sparse_names else tensor
             for key, tensor in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes


def layer_sensitivity(model: torch.nn.Module, encoded: Batch, sparsities: Iterable[float]) -> dict[str, dict[float, float]]:
    """Accuracy on ``encoded`` with one encoder Linear layer pruned at a time, by layer and sparsity.

    Each layer's weight is masked with :func:`magnitude_mask`, the model evaluated, and the
    weight restored, so the model is unchanged afterwards.
    """
    levels = [checks.share("sparsity", s) for s in sparsities]
    scan: dict[str, dict[float, float]] = {}
    for name, module in encoder_linears(model):
        saved = module.weight.data.clone()
        scan[name] = {}
        for level in levels:
            module.weight.data = saved * magnitude_mask(saved, level)
            scan[name][level] = evaluate(model, encoded)["accuracy"]
        module.weight.data = saved
    return scan


def matmul_times(weight: torch.Tensor, inputs: torch.Tensor, repeats: int = 50) -> tuple[float, float]:
    """Median seconds of ``inputs @ weight.T`` with ``weight`` dense, and of ``weight @ inputs.T`` in CSR format.

    The two products hold the same numbers, the second transposed (a sparse matrix can only stand
    on the left); the transposes are views, inside the timed calls. Only the storage of ``weight``
    differs.
    """
    csr = to_csr(weight)
    return (statistics.median(native_timer.times("matmul_transposed", inputs, weight, repeats=repeats)),
            statistics.median(native_timer.times("matmul_transposed", csr, inputs, repeats=repeats)))


def _loss(model: torch.nn.Module, encoded: Batch) -> float:
    return float(F.cross_entropy(logits_of(model, encoded), encoded["labels"]))


def head_importance(model: torch.nn.Module, encoded: Batch) -> dict[tuple[int, int], float]:
    """How much the loss on ``encoded`` rises when one head is switched off, for every head.

    A head is switched off by zeroing its columns in the attention's output projection (its
    output then contributes nothing), measured, and restored. Returns ``{(layer, head): rise}``.
    """
    base = _loss(model, encoded)
    importance = {}
    for index, layer in enumerate(model.bert.encoder.layer):
        attention = layer.attention.self
        output = layer.attention.output.dense
        size = attention.attention_head_size
        for head in range(attention.num_attention_heads):
            saved = output.weight.data[:, head * size:(head + 1) * size].clone()
            output.weight.data[:, head * size:(head + 1) * size] = 0
            importance[(index, head)] = _loss(model, encoded) - base
            output.weight.data[:, head * size:(head + 1) * size] = saved
    return importance


def least_important_heads(importance: dict[tuple[int, int], float], count: int) -> dict[int, list[int]]:
    """The ``count`` heads whose removal costs least, never the last head of a layer.

    >>> least_important_heads({(0, 0): 0.1, (0, 1): 0.0, (1, 0): 0.2, (1, 1): 0.3}, 2)
    {0: [1], 1: [0]}
    """
    heads_per_layer: dict[int, int] = {}
    for layer, _ in importance:
        heads_per_layer[layer] = heads_per_layer.get(layer, 0) + 1
    limit = sum(n - 1 for n in heads_per_layer.values())
    if not 0 <= checks.nonnegative_int("count", count) <= limit:
        raise ValueError(f"count must be between 0 and {limit} (every layer keeps one head), got {count}")
    chosen: dict[int, list[int]] = {}
    for (layer, head), _ in sorted(importance.items(), key=lambda item: (item[1], item[0])):
        if sum(len(v) for v in chosen.values()) == count:
            break
        if len(chosen.get(layer, [])) < heads_per_layer[layer] - 1:
            chosen.setdefault(layer, []).append(head)
    return {layer: sorted(heads) for layer, heads in sorted(chosen.items())}


def _keep_index(total: int, size: int, removed: Iterable[int]) -> torch.Tensor:
    drop = set(removed)
    return torch.tensor([i * size + j for i in range(total) if i not in drop for j in range(size)], dtype=torch.long)


def remove_heads(model: torch.nn.Module, heads: dict[int, list[int]]) -> torch.nn.Module:
    """Remove attention heads for real, in place: ``{layer: [head, ...]}``.

    Q, K and V lose the heads' output rows, the output projection their input columns; the
    layer's head count shrinks. The result is a smaller dense model.
    """
    from transformers.pytorch_utils import prune_linear_layer

    layers = model.bert.encoder.layer
    for index, removed in heads.items():
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(layers):
            raise ValueError(f"layer numbers must be in 0..{len(layers) - 1}, got {index!r}")
        attention = layers[index].attention
        self_attention = attention.self
        n, size = self_attention.num_attention_heads, self_attention.attention_head_size
        if not removed:
            continue
        if any(not 0 <= h < n for h in removed) or len(set(removed)) >= n:
            raise ValueError(f"heads of layer {index} must be distinct numbers in 0..{n - 1}, leaving at least one; got {removed}")
        keep = _keep_index(n, size, removed)
        self_attention.query = prune_linear_layer(self_attention.query, keep, dim=0)
        self_attention.key = prune_linear_layer(self_attention.key, keep, dim=0)
        self_attention.value = prune_linear_layer(self_attention.value, keep, dim=0)
        attention.output.dense = prune_linear_layer(attention.output.dense, keep, dim=1)
        self_attention.num_attention_heads = n - len(set(removed))
        self_attention.all_head_size = self_attention.num_attention_heads * size
    return model


def remove_ffn_neurons(model: torch.nn.Module, fraction: float) -> torch.nn.Module:
    """Remove the ``fraction`` of each layer's FFN neurons with the smallest L1 norm, in place.

    A neuron's norm is that of its row in the first FFN matrix times that of its column in the
    second (how much it can carry from input to output).
    """
    from transformers.pytorch_utils import prune_linear_layer

    checks.share("fraction", fraction)
    for layer in model.bert.encoder.layer:
        first, second = layer.intermediate.dense, layer.output.dense
        score = first.weight.abs().sum(dim=1) * second.weight.abs().sum(dim=0)
        keep_count = first.out_features - round(fraction * first.out_features)
        if keep_count < 1:
            raise ValueError(f"fraction must leave at least one neuron per layer, got {fraction}")
        keep = torch.sort(torch.topk(score, keep_count).indices).values
        layer.intermediate.dense = prune_linear_layer(first, keep, dim=0)
        layer.output.dense = prune_linear_layer(second, keep, dim=1)
    return model
