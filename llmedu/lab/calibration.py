"""What a model's Linear layers receive on calibration text, for the methods that need data.

:func:`input_grams` runs calibration tokens through a model once and keeps, for each chosen
Linear layer, the Gram matrix :math:`G = X^\\top X` of its inputs (``X``: one row per token, one
column per input feature), kept in float64 (:func:`gram`). GPTQ's Hessian of the layer's output
error is :math:`2G` (:mod:`llmedu.lab.gptq`), and :func:`output_error` scores any replacement of
a weight matrix on those inputs. :func:`block_by_block` walks a decoder's blocks in order and
hands each group of layers that read the same input to a method, with that input computed after
the layers before it were changed: the way GPTQ and Wanda (:mod:`llmedu.lab.decoder_pruning`)
are applied to a whole model.

Leaves out choosing the calibration text (the labs use
:func:`llmedu.lab.language_model.calibration_text`) and the methods themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from llmedu.lab import low_bit


def input_grams(model: torch.nn.Module, names: Iterable[str], *args, **kwargs) -> dict[str, torch.Tensor]:
    """:math:`X^\\top X` of the inputs of each Linear layer named in ``names`` while ``model(*args, **kwargs)`` runs.

    For a language model, ``input_grams(model, names, input_ids=ids)`` with ``ids`` a (rows, tokens)
    tensor; the call runs under ``inference_mode`` and without a cache, and every token of every row
    is one row of ``X``; ``model`` may also be one block of a model, called on its inputs. The
    products are taken in fp32 and kept in float64 (:func:`gram`). Layers that receive the very same
    input tensor (a layer's query, key and value projections; its gate and up projections) share
    one Gram matrix, the same tensor object.
    """
    modules = dict(model.named_modules())
    names = list(names)
    unknown = [name for name in names if not isinstance(modules.get(name), torch.nn.Linear)]
    if unknown:
        raise ValueError(f"not Linear layers of this model: {', '.join(unknown)}")
    grams: dict[str, torch.Tensor] = {}
    last: dict[str, object] = {"input": None, "gram": None}

    def keep(name: str):
        def hook(module, inputs, output):
            if inputs[0] is last["input"]:
                grams[name] = last["gram"]
                return
            grams[name] = gram(inputs[0])
            last.update(input=inputs[0], gram=grams[name])
        return hook

    handles = [modules[name].register_forward_hook(keep(name)) for name in names]
    try:
        with torch.inference_mode():
            model(*args, **{"use_cache": False, **kwargs})
    finally:
        for handle in handles:
            handle.remove()
    return grams


def gram(inputs: torch.Tensor) -> torch.Tensor:
    """:math:`X^\\top X` (float64) of a layer's ``inputs`` (…, features), every position one row of ``X``;
    the product taken in fp32."""
    x = inputs.detach().reshape(-1, inputs.shape[-1]).float()
    return (x.T @ x).double()


def output_error(weight: torch.Tensor, replaced: torch.Tensor, gram: torch.Tensor) -> float:
    """How much replacing ``weight`` by ``replaced`` changes the layer's outputs on the calibration inputs,
    relative to the outputs: :math:`\\lVert (W - \\hat W) X^\\top \\rVert_F / \\lVert W X^\\top \\rVert_F`.

    >>> w = torch.tensor([[1.0, 2.0]])
    >>> round(output_error(w, torch.tensor([[1.0, 1.0]]), torch.eye(2, dtype=torch.float64)), 4)
    0.4472
    """
    if weight.shape != replaced.shape or gram.shape != (weight.shape[1], weight.shape[1]):
        raise ValueError(f"shapes do not fit: weight {tuple(weight.shape)}, replaced {tuple(replaced.shape)}, "
                         f"gram {tuple(gram.shape)}")
    w, delta = weight.detach().double(), (weight.detach() - replaced.detach()).double()
    changed = float(((delta @ gram) * delta).sum())
    return (max(changed, 0.0) / float(((w @ gram) * w).sum())) ** 0.5


class _Caught(Exception):
    """Stops a forward pass once the inputs sought are caught."""


def _first_block_inputs(model: torch.nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The hidden states and keyword arguments (mask, rotary embeddings) the first decoder block receives."""
    caught = {}

    def catch(module, args, kwargs):
        caught["hidden"] = args[0] if args else kwargs.pop("hidden_states")
        caught["kwargs"] = kwargs
        raise _Caught

    handle = model.model.layers[0].register_forward_pre_hook(catch, with_kwargs=True)
    try:
        with torch.inference_mode():
            model(input_ids=ids, use_cache=False)
    except _Caught:
        pass
    finally:
        handle.remove()
    return caught["hidden"], caught["kwargs"]


def _groups(block: torch.nn.Module, hidden: torch.Tensor, kwargs: dict) -> list[list[str]]:
    """The names of ``block``'s Linear layers (all but :data:`llmedu.lab.low_bit.KEEP`) in the order its
    forward pass on ``hidden`` uses them, grouped by the input tensor they share (query, key and
    value; gate and up)."""
    order: list[tuple[str, torch.Tensor]] = []

    def watch(name: str):
        def hook(module, args):
            order.append((name, args[0]))
        return hook

    handles = [module.register_forward_pre_hook(watch(name)) for name, module in low_bit.quantized_linears(block)]
    try:
        block(hidden, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    groups: list[tuple[list[str], torch.Tensor]] = []
    for name, inputs in order:
        if groups and inputs is groups[-1][1]:
            groups[-1][0].append(name)
        else:
            groups.append(([name], inputs))
    return [names for names, _ in groups]


def block_by_block(model: torch.nn.Module, ids: torch.Tensor,
                   treat: Callable[[list[torch.nn.Linear], torch.Tensor], None]) -> torch.nn.Module:
    """Change a decoder ``model``'s Linear layers in place, block by block, each from the inputs it
    receives once the layers before it have been changed; returns ``model``.

    The calibration tokens ``ids`` (rows × tokens) go through the decoder blocks
    (``model.model.layers``) in order, each fed the outputs of the blocks already changed. Inside
    a block, the Linear layers (all but :data:`llmedu.lab.low_bit.KEEP`) are taken in the order the
    forward pass uses them; ``treat(layers, inputs)`` receives those that read the same input (a
    block's query, key and value; its gate and up) with that input (tokens × features), and changes
    their weights in place. One pass per block: each group is changed just before the block's
    forward pass reaches it, so the layers after it receive its changed outputs. How GPTQ
    (:mod:`llmedu.lab.gptq`) and Wanda (:mod:`llmedu.lab.decoder_pruning`) are applied to a whole model.
    """
    hidden, kwargs = _first_block_inputs(model, ids)
    with torch.inference_mode():
        groups = _groups(model.model.layers[0], hidden, kwargs)  # the blocks are alike: the first one's order
        for index, block in enumerate(model.model.layers):
            modules = dict(block.named_modules())
            linears = sorted(name for name, _ in low_bit.quantized_linears(block))
            if linears != sorted(name for names in groups for name in names):
                raise ValueError(f"block {index}'s Linear layers differ from block 0's: {linears}")
            treated: list[str] = []

            def change_first(names: list[str], modules: dict[str, torch.nn.Module]):
                def hook(module, args):  # just before the group's first layer runs, on the input it receives
                    treat([modules[name] for name in names], args[0].reshape(-1, args[0].shape[-1]))
                    treated.extend(names)
                return hook

            handles = [modules[names[0]].register_forward_pre_hook(change_first(names, modules)) for names in groups]
            try:
                hidden = block(hidden, **kwargs)  # each group changed as the pass reaches it
            finally:
                for handle in handles:
                    handle.remove()
            if sorted(treated) != linears:
                raise RuntimeError(f"block {index}'s forward pass did not reach every group of its Linear layers")
    return model
