"""What a model's Linear layers receive on calibration text, for the methods that need data.

:func:`input_grams` runs calibration tokens through a model once and keeps, for each chosen
Linear layer, the Gram matrix :math:`G = X^\\top X` of its inputs (``X``: one row per token, one
column per input feature), accumulated in float64. GPTQ's Hessian of the layer's output error is
:math:`2G` (:mod:`llmedu.lab.gptq`); the norm of each input feature, the square root of
:math:`G`'s diagonal (:func:`feature_norms`), is what Wanda multiplies the weights' magnitudes by;
and :func:`output_error` scores any replacement of a weight matrix on those inputs.

The inputs are those of the model as it is when the function runs. Leaves out choosing the calibration text (the labs use
:func:`llmedu.lab.language_model.held_out`) and the methods themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from llmedu import checks


def input_grams(model: torch.nn.Module, names: Iterable[str], *args, **kwargs) -> dict[str, torch.Tensor]:
    """:math:`X^\\top X` of the inputs of each Linear layer named in ``names`` while ``model(*args, **kwargs)`` runs.

    For a language model, ``input_grams(model, names, input_ids=ids)`` with ``ids`` a (rows, tokens)
    tensor; the call runs under ``inference_mode`` and without a cache, and every token of every row
    is one row of ``X``; ``model`` may also be one block of a model, called on its inputs. The products are taken in fp32 and kept in float64. Layers that receive the very same
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


def feature_norms(gram: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each input feature over the calibration tokens: :math:`\\sqrt{G_{jj}}`."""
    return gram.diagonal().clamp(min=0).sqrt()


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
