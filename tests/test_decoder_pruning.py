"""Pruning a decoder: magnitude (per layer, per row, global) and Wanda, unstructured and 2:4.

A small Llama model stands in for SmolLM2 (the real model runs in Lab 11, checked by nbval).
"""

from __future__ import annotations

import pytest
import torch

from llmedu.lab import calibration, decoder_pruning, low_bit
from test_decoder_lab import tiny_llama

IDS = torch.randint(0, 72, (4, 32), generator=torch.Generator().manual_seed(7))


def largest(values: torch.Tensor) -> float:
    return float(values.max()) if values.numel() else 0.0


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9])
def test_masks_zero_the_lowest_share_of_a_layer_or_of_each_row(sparsity: float) -> None:
    score = torch.rand(12, 40, generator=torch.Generator().manual_seed(1))
    layer = decoder_pruning.keep_mask(score, sparsity, "layer")
    assert int((layer == 0).sum()) == round(sparsity * score.numel())
    assert largest(score[layer == 0]) <= score[layer == 1].min()
    row = decoder_pruning.keep_mask(score, sparsity, "row")
    for scores, mask in zip(score, row):
        assert int((mask == 0).sum()) == round(sparsity * 40)
        assert largest(scores[mask == 0]) <= scores[mask == 1].min()


def test_two_of_every_four_are_kept_the_larger_two() -> None:
    score = torch.rand(6, 32, generator=torch.Generator().manual_seed(2))
    mask = decoder_pruning.keep_mask(score, pattern="2:4").reshape(6, 8, 4)
    groups = score.reshape(6, 8, 4)
    assert (mask.sum(-1) == 2).all()
    assert ((groups * mask).amax(-1) == groups.amax(-1)).all()
    assert (groups.masked_fill(mask == 1, 2.0).amin(-1) <= groups.masked_fill(mask == 0, 2.0).amin(-1)).all()


@pytest.mark.parametrize("scope", ["layer", "row"])
def test_magnitude_pruning_prunes_each_block_layer_and_leaves_the_head_and_the_original(scope: str) -> None:
    model = tiny_llama()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruned = decoder_pruning.prune(model, 0.5, scope=scope)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    shares = decoder_pruning.sparsity_of(pruned)
    assert all(share == pytest.approx(0.5, abs=1e-3) for share in shares.values())
    assert torch.equal(pruned.lm_head.weight, model.lm_head.weight)


def test_global_magnitude_reaches_the_share_overall_with_different_shares_per_layer() -> None:
    model = tiny_llama()
    with torch.no_grad():
        model.model.layers[0].mlp.down_proj.weight.mul_(0.1)  # a layer of small weights loses more
    shares = decoder_pruning.sparsity_of(decoder_pruning.prune(model, 0.5, scope="global"))
    assert shares["all"] == pytest.approx(0.5, abs=1e-4)
    assert shares["model.layers.0.mlp.down_proj"] > 0.9


@pytest.mark.parametrize("pattern", ["unstructured", "2:4"])
def test_wanda_weighs_each_weight_by_its_input_features_norm(pattern: str) -> None:
    model = tiny_llama()
    pruned = decoder_pruning.prune(model, 0.5, criterion="wanda", pattern=pattern, ids=IDS)
    q = "model.layers.0.self_attn.q_proj"  # the first block's inputs are the float model's
    inputs = {}
    handle = dict(model.named_modules())[q].register_forward_hook(lambda m, i, o: inputs.update(x=i[0]))
    with torch.no_grad():
        model(input_ids=IDS)
    handle.remove()
    weight = dict(model.named_modules())[q].weight
    norms = inputs["x"].reshape(-1, weight.shape[1]).norm(dim=0)
    expected = weight * decoder_pruning.keep_mask(weight.abs() * norms, 0.5, "row", pattern)
    assert torch.equal(dict(pruned.named_modules())[q].weight, expected)
    magnitude = decoder_pruning.prune(model, 0.5, scope="row", pattern=pattern)
    assert not torch.equal(dict(magnitude.named_modules())[q].weight, expected)
    assert decoder_pruning.sparsity_of(pruned)["all"] == pytest.approx(0.5, abs=1e-3)


def test_wanda_feeds_each_layer_the_pruned_layers_before_it() -> None:
    model = tiny_llama()
    pruned = decoder_pruning.prune(model, 0.5, criterion="wanda", ids=IDS)
    down = "model.layers.1.mlp.down_proj"
    partly = decoder_pruning.prune(model, 0.5, criterion="wanda", ids=IDS)
    partly.model.layers[1].mlp.down_proj.weight.data.copy_(model.model.layers[1].mlp.down_proj.weight)
    inputs = {}
    handle = dict(partly.named_modules())[down].register_forward_hook(lambda m, i, o: inputs.update(x=i[0]))
    with torch.no_grad():
        partly(input_ids=IDS)
    handle.remove()
    weight = model.model.layers[1].mlp.down_proj.weight
    norms = inputs["x"].reshape(-1, weight.shape[1]).norm(dim=0)
    expected = weight * decoder_pruning.keep_mask(weight.abs() * norms, 0.5, "row")
    assert torch.allclose(dict(pruned.named_modules())[down].weight, expected)


def test_wanda_from_one_pass_uses_the_unpruned_models_inputs_everywhere() -> None:
    model = tiny_llama()
    norms = decoder_pruning.input_norms(model, IDS)
    assert sorted(norms) == sorted(name for name, _ in low_bit.quantized_linears(model))
    grams = calibration.input_grams(model, list(norms), input_ids=IDS)
    for name, norm in norms.items():
        assert torch.allclose(norm.double(), grams[name].diagonal().sqrt(), rtol=1e-5)
    one_pass = decoder_pruning.prune(model, 0.3, criterion="wanda", norms=norms)
    layers = dict(model.named_modules())
    with torch.no_grad():
        for name, layer in low_bit.quantized_linears(one_pass):
            weight = layers[name].weight
            assert torch.equal(layer.weight, weight * decoder_pruning.keep_mask(weight.abs() * norms[name], 0.3, "row"))
    block_by_block = decoder_pruning.prune(model, 0.3, criterion="wanda", ids=IDS)
    first, down = "model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj"  # the same input; a pruned one
    assert torch.equal(dict(one_pass.named_modules())[first].weight, dict(block_by_block.named_modules())[first].weight)
    assert not torch.equal(dict(one_pass.named_modules())[down].weight, dict(block_by_block.named_modules())[down].weight)


def test_bad_pruning_settings_say_what_is_allowed() -> None:
    model = tiny_llama()
    with pytest.raises(ValueError, match="Wanda needs one of: calibration tokens ids"):
        decoder_pruning.prune(model, 0.5, criterion="wanda")
    with pytest.raises(ValueError, match="Wanda needs one of"):
        decoder_pruning.prune(model, 0.5, criterion="wanda", ids=IDS, norms={})
    with pytest.raises(ValueError, match="norms has no entry for"):
        decoder_pruning.prune(model, 0.5, criterion="wanda", norms={})
    with pytest.raises(ValueError, match="not 'global'"):
        decoder_pruning.prune(model, 0.5, criterion="wanda", scope="global", ids=IDS)
    with pytest.raises(ValueError, match="criterion"):
        decoder_pruning.prune(model, 0.5, criterion="sparsegpt")
    with pytest.raises(ValueError, match="sparsity"):
        decoder_pruning.prune(model, 1.5)
    with pytest.raises(ValueError, match="multiple of 4"):
        decoder_pruning.keep_mask(torch.rand(3, 10), pattern="2:4")


def test_block_by_block_hands_each_block_its_groups_in_the_forward_passs_order() -> None:
    model = tiny_llama()
    seen = []
    calibration.block_by_block(model, IDS, lambda layers, inputs: seen.append(
        [name.split(".", 3)[-1] for layer in layers for name, m in model.named_modules() if m is layer]))
    block = [["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], ["self_attn.o_proj"],
             ["mlp.gate_proj", "mlp.up_proj"], ["mlp.down_proj"]]
    assert seen == block * model.config.num_hidden_layers
