"""Calibration data and GPTQ: the Gram matrices a model's layers receive, and GPTQ's rounding.

Small Llama models and random matrices stand in for SmolLM2 (the real model runs in Lab 10,
checked by nbval).
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import torch

from llmedu.lab import calibration, gptq, language_model, low_bit
from test_decoder_lab import tiny_llama

SCHEMES = [(4, None, True), (4, 32, True), (3, 64, False), (2, 32, False)]


def correlated_inputs(seed: int, tokens: int = 600, features: int = 128) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(features, features, generator=generator) / features ** 0.5
    return torch.randn(tokens, features, generator=generator) @ mixing + 0.3 * torch.randn(tokens, features, generator=generator)


def slow_gptq(weight: torch.Tensor, gram: torch.Tensor, bits: int, group: int | None, symmetric: bool) -> torch.Tensor:
    """The method as Optimal Brain Quantization states it: round one column, update the rest with
    the inverse Hessian, remove the column from the inverse; float64, no blocks, no Cholesky factor."""
    w, h = weight.double().clone(), gram.double().clone()
    h.diagonal().add_(gptq.DAMP * h.diagonal().mean())
    inverse, result = torch.linalg.inv(h), torch.zeros_like(w)
    if group is None:
        scale, offset, levels = low_bit.grid(w.float(), bits, symmetric)
    for j in range(w.shape[1]):
        if group is not None and j % group == 0:
            scale, offset, levels = low_bit.grid(w[:, j:j + group].float(), bits, symmetric)
        rounded = (scale * low_bit.to_grid(w[:, j:j + 1].float(), scale, offset, levels) + offset).double()[:, 0]
        result[:, j] = rounded
        w[:, j:] -= torch.outer((w[:, j] - rounded) / inverse[j, j], inverse[j, j:])
        inverse -= torch.outer(inverse[:, j], inverse[j, :]) / inverse[j, j]
    return result.float()


@pytest.mark.parametrize("scheme", SCHEMES, ids=str)
def test_gptq_is_the_slow_method_written_fast(scheme: tuple) -> None:
    x = correlated_inputs(1)
    weight = torch.randn(24, 128, generator=torch.Generator().manual_seed(2))
    gram = calibration.gram(x)
    fast, slow = gptq.gptq_quantize(weight, gram, *scheme), slow_gptq(weight, gram, *scheme)
    assert torch.allclose(fast, slow, atol=1e-4)
    assert calibration.output_error(weight, fast, gram) < calibration.output_error(weight, low_bit.round_trip(weight, *scheme), gram)


@pytest.mark.parametrize("scheme", SCHEMES, ids=str)
def test_without_correlation_gptq_is_round_to_nearest(scheme: tuple) -> None:
    weight = torch.randn(24, 128, generator=torch.Generator().manual_seed(3))
    diagonal = torch.diag(torch.rand(128, dtype=torch.float64) + 0.5)
    assert torch.equal(gptq.gptq_quantize(weight, diagonal, *scheme), low_bit.round_trip(weight, *scheme))


@pytest.mark.parametrize("scheme", SCHEMES, ids=str)
def test_every_gptq_weight_lies_on_its_groups_grid(scheme: tuple) -> None:
    """Each group's values are its offset plus whole multiples of one step, the multiples in the format's range."""
    bits, group, symmetric = scheme
    weight = torch.randn(8, 128, generator=torch.Generator().manual_seed(4))
    rounded = gptq.gptq_quantize(weight, calibration.gram(correlated_inputs(4)), *scheme)
    for values in rounded.reshape(-1, group or 128):
        levels = values.unique()
        assert len(levels) <= 2 ** bits
        step = (levels[1:] - levels[:-1]).min()
        base = torch.zeros(()) if symmetric else levels[0]
        multiples = (values - base) / step
        assert torch.allclose(multiples, multiples.round(), atol=1e-3)
        span = multiples.round()
        assert span.max() - span.min() <= (2 ** bits - 1 if not symmetric else 2 * (2 ** (bits - 1) - 1))


def test_bad_gptq_settings_say_what_is_allowed() -> None:
    weight = torch.randn(4, 96)
    with pytest.raises(ValueError, match=r"gram must be 96 × 96"):
        gptq.gptq_quantize(weight, torch.eye(64, dtype=torch.float64))
    with pytest.raises(ValueError, match="must divide the rows' length 96 and the block of 128"):
        gptq.gptq_quantize(weight, torch.eye(96, dtype=torch.float64), group_size=96)


def test_grams_are_the_inputs_products_shared_where_the_input_is() -> None:
    model = tiny_llama()
    ids = torch.randint(0, 72, (2, 16), generator=torch.Generator().manual_seed(5))
    seen = {}
    names = [name for name, _ in low_bit.quantized_linears(model)]
    modules = dict(model.named_modules())
    handles = [modules[n].register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, i[0].reshape(-1, i[0].shape[-1])))
               for n in names]
    with torch.no_grad():
        model(input_ids=ids)
    for handle in handles:
        handle.remove()
    grams = calibration.input_grams(model, names, input_ids=ids)
    for name in names:
        assert torch.allclose(grams[name], (seen[name].T @ seen[name]).double(), rtol=1e-5, atol=1e-5)
    block = "model.layers.1."
    assert grams[block + "self_attn.q_proj"] is grams[block + "self_attn.k_proj"] is grams[block + "self_attn.v_proj"]
    assert grams[block + "mlp.gate_proj"] is grams[block + "mlp.up_proj"]
    assert grams[block + "self_attn.o_proj"] is not grams[block + "self_attn.q_proj"]
    with pytest.raises(ValueError, match="not Linear layers of this model: model.norm"):
        calibration.input_grams(model, ["model.norm"], input_ids=ids)


def test_gptq_model_feeds_each_layer_the_quantized_layers_before_it() -> None:
    model = tiny_llama()
    ids = torch.randint(0, 72, (4, 32), generator=torch.Generator().manual_seed(6))
    before = copy.deepcopy(model.state_dict())
    quantized = gptq.gptq_model(model, ids, 4, 32, True)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(quantized.lm_head.weight, model.lm_head.weight)
    # the first block's query projection: inputs of the float model
    q = "model.layers.0.self_attn.q_proj"
    gram = calibration.input_grams(model, [q], input_ids=ids)[q]
    assert torch.equal(dict(quantized.named_modules())[q].weight, gptq.gptq_quantize(dict(model.named_modules())[q].weight, gram))
    # the second block's down projection: inputs computed with everything before it quantized
    down = "model.layers.1.mlp.down_proj"
    partly = copy.deepcopy(quantized)
    partly.model.layers[1].mlp.down_proj.weight.data.copy_(model.model.layers[1].mlp.down_proj.weight)
    gram = calibration.input_grams(partly, [down], input_ids=ids)[down]
    expected = gptq.gptq_quantize(model.model.layers[1].mlp.down_proj.weight, gram)
    assert torch.allclose(quantized.model.layers[1].mlp.down_proj.weight, expected, atol=1e-6)


def test_the_calibration_text_shares_no_sentence_with_the_scored_text() -> None:
    spec = importlib.util.spec_from_file_location("make_eval_text", Path(__file__).parent.parent / "scripts" / "make_eval_text.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    scored = script.sentences(language_model.eval_text().replace("\n", " "))
    calibration_text = language_model.calibration_text()
    assert len(calibration_text.split()) > 5 * len(language_model.eval_text().split())
    assert not script.sentences(calibration_text.replace("\n", " ")) & scored
