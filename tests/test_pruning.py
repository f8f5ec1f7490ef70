"""Pruning: masks, sparsity, sparse storage and the removal of heads and neurons, on small models.

Every structured removal is checked against the same change made by zeroing (a removed head or
neuron must change the model's output exactly as zeroing its weights would), so the tests can
fail if the wrong rows or columns go.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llmedu import compression
from llmedu.lab import data, measure, models, pruning, train

VOCAB = 72


def random_model(shape: str | models.Shape = "tiny", seed: int = 0) -> torch.nn.Module:
    model = models.build_model(shape, VOCAB, seed=seed)
    with torch.no_grad():  # random, non-zero biases, so that a wrong bias slice shows
        for _, module in pruning.encoder_linears(model):
            module.bias.normal_(0, 0.1)
    return model


@pytest.fixture(scope="module")
def encoded() -> dict[str, torch.Tensor]:
    _, _, parts = train.prepare_data(data.load_splits({"train": 8, "validation": 64, "test": 8}))
    return parts["validation"]


def logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return train.logits_of(model, batch)


def test_magnitude_mask_zeroes_the_smallest_entries() -> None:
    weight = torch.randn(40, 25, generator=torch.Generator().manual_seed(0))
    mask = pruning.magnitude_mask(weight, 0.3)
    assert int((mask == 0).sum()) == 300
    assert weight.abs()[mask == 0].max() <= weight.abs()[mask == 1].min()
    assert bool((pruning.magnitude_mask(weight, 0) == 1).all())
    for bad in (1.0, -0.1, "half", True):
        with pytest.raises(ValueError, match="sparsity must be a share from 0"):
            pruning.magnitude_mask(weight, bad)


def layer_sparsities(model: torch.nn.Module) -> list[float]:
    return [float((m.weight == 0).float().mean()) for _, m in pruning.encoder_linears(model)]


def test_layer_pruning_gives_every_layer_the_same_sparsity() -> None:
    model = pruning.magnitude_prune(random_model(), 0.6, method="layer")
    assert all(abs(s - 0.6) < 1e-3 for s in layer_sparsities(model))
    assert abs(pruning.sparsity(model) - 0.6) < 1e-3


def test_global_pruning_ranks_all_layers_together() -> None:
    model = random_model()
    with torch.no_grad():  # one layer with much smaller weights must lose more of them
        model.bert.encoder.layer[0].intermediate.dense.weight.mul_(0.1)
    pruning.magnitude_prune(model, 0.5, method="global")
    assert abs(pruning.sparsity(model) - 0.5) < 1e-5
    names = [name for name, _ in pruning.encoder_linears(model)]
    by_name = dict(zip(names, layer_sparsities(model)))
    assert by_name["bert.encoder.layer.0.intermediate.dense"] > 0.95
    assert min(by_name.values()) < 0.5
    with pytest.raises(ValueError, match="unknown method .random.; allowed: global, layer"):
        pruning.magnitude_prune(random_model(), 0.5, method="random")


def test_make_permanent_keeps_the_zeros_and_drops_the_masks(encoded: dict) -> None:
    dense = random_model()
    model = pruning.magnitude_prune(random_model(), 0.7)
    masked_size, before = measure.serialized_size(model), logits(model, encoded)
    assert any(key.endswith("weight_mask") for key in model.state_dict())
    pruning.make_permanent(model)
    assert not any(key.endswith(("weight_mask", "weight_orig")) for key in model.state_dict())
    assert abs(pruning.sparsity(model) - 0.7) < 1e-5
    assert torch.equal(logits(model, encoded), before)
    # the zeros are still stored: the file is as large as the dense model's, the masks made it larger
    assert measure.serialized_size(model) == measure.serialized_size(dense) < masked_size


def test_sparse_storage_costs_values_and_indices() -> None:
    dense = random_model()
    dense_size = measure.serialized_size(dense)
    assert pruning.sparse_size(dense) > 2 * dense_size  # nothing pruned: CSR only adds indices
    model = pruning.make_permanent(pruning.magnitude_prune(random_model(), 0.9))
    wide, narrow = pruning.sparse_size(model, torch.int64), pruning.sparse_size(model, torch.int32)
    assert narrow < wide < dense_size
    linears = [m for _, m in pruning.encoder_linears(model)]
    nonzero = sum(int(torch.count_nonzero(m.weight)) for m in linears)
    row_pointers = sum(m.weight.shape[0] + 1 for m in linears)
    # 8-byte against 4-byte indices: 4 bytes more per column index and per row pointer (give or take the zip archive's padding)
    assert abs((wide - narrow) - 4 * (nonzero + row_pointers)) < 2000
    with pytest.raises(ValueError, match="index_dtype"):
        pruning.sparse_size(model, torch.int16)


def test_csr_product_equals_the_dense_one() -> None:
    weight = torch.randn(16, 8) * (torch.rand(16, 8) > 0.8)
    inputs = torch.randn(5, 8)
    assert torch.allclose(pruning.to_csr(weight) @ inputs.T, (inputs @ weight.T).T, atol=1e-6)
    dense_s, csr_s = pruning.matmul_times(weight, inputs, repeats=3)
    assert dense_s > 0 and csr_s > 0


def test_layer_sensitivity_restores_the_model(encoded: dict) -> None:
    model = random_model()
    before = logits(model, encoded)
    base = train.evaluate(model, encoded)["accuracy"]
    scan = pruning.layer_sensitivity(model, encoded, [0.0, 0.9])
    assert len(scan) == len(pruning.encoder_linears(model)) == 12
    assert all(levels[0.0] == base for levels in scan.values())
    assert torch.equal(logits(model, encoded), before)


def test_removing_a_head_equals_silencing_it(encoded: dict) -> None:
    shape = models.Shape(layers=2, hidden=64, heads=4, ffn=128)
    model, silenced = random_model(shape), random_model(shape)
    size = 64 // 4
    with torch.no_grad():  # head 1 of layer 0 and heads 0, 3 of layer 1 contribute nothing
        silenced.bert.encoder.layer[0].attention.output.dense.weight[:, size:2 * size] = 0
        for head in (0, 3):
            silenced.bert.encoder.layer[1].attention.output.dense.weight[:, head * size:(head + 1) * size] = 0
    before = measure.count_parameters(model)
    pruning.remove_heads(model, {0: [1], 1: [0, 3]})
    assert torch.allclose(logits(model, encoded), logits(silenced, encoded), atol=1e-5)
    # each head: size rows (and biases) of Q, K, V, and size columns of the output projection
    assert before - measure.count_parameters(model) == 3 * (4 * 64 * size + 3 * size)
    assert model.bert.encoder.layer[1].attention.self.num_attention_heads == 2


def test_bad_head_removals_are_refused() -> None:
    model = random_model()
    with pytest.raises(ValueError, match="leaving at least one"):
        pruning.remove_heads(model, {0: [0, 1]})
    with pytest.raises(ValueError, match="layer numbers must be in 0..1"):
        pruning.remove_heads(model, {5: [0]})
    with pytest.raises(ValueError, match="count must be between 0 and 2"):
        pruning.least_important_heads({(0, 0): 0.1, (0, 1): 0.2, (1, 0): 0.3, (1, 1): 0.4}, 3)


def test_head_importance_finds_a_silent_head(encoded: dict) -> None:
    shape = models.Shape(layers=2, hidden=64, heads=4, ffn=128)
    model = random_model(shape)
    with torch.no_grad():
        model.bert.encoder.layer[1].attention.output.dense.weight[:, 32:48] = 0  # head 2 of layer 1
    importance = pruning.head_importance(model, encoded)
    assert len(importance) == 8 and importance[(1, 2)] == 0.0
    assert pruning.least_important_heads({**importance, (1, 2): -1.0}, 1) == {1: [2]}


def test_removing_ffn_neurons_drops_the_silent_ones_first(encoded: dict) -> None:
    model = random_model()
    with torch.no_grad():  # a quarter of each layer's neurons cannot reach the output
        for layer in model.bert.encoder.layer:
            layer.output.dense.weight[:, ::4] = 0
    before_logits, before = logits(model, encoded), measure.count_parameters(model)
    pruning.remove_ffn_neurons(model, 0.25)
    assert torch.allclose(logits(model, encoded), before_logits, atol=1e-5)
    # 128 neurons per layer: a row and a bias of the first matrix, a column of the second
    assert before - measure.count_parameters(model) == 2 * 128 * (128 + 1 + 128)
    assert pruning.encoder_weight_count(model) == 2 * (4 * 128 * 128 + 2 * 128 * 384)
    with pytest.raises(ValueError, match="fraction must be a share"):
        pruning.remove_ffn_neurons(model, 1.5)


def test_csr_formula_matches_the_saved_bytes() -> None:
    model = pruning.make_permanent(pruning.magnitude_prune(random_model(), 0.9))
    dense_rest = measure.serialized_size(model) - 4 * pruning.encoder_weight_count(model)
    for index_dtype, index_bytes in ((torch.int64, 8), (torch.int32, 4)):
        formula = sum(compression.csr_bytes(*m.weight.shape, int(torch.count_nonzero(m.weight)), 4, index_bytes)
                      for _, m in pruning.encoder_linears(model))
        # what torch.save adds around the CSR tensors: a few hundred bytes per tensor
        assert 0 < pruning.sparse_size(model, index_dtype) - dense_rest - formula < 12 * 3 * 600


def test_bitmask_formula_matches_a_packed_mask_and_its_values() -> None:
    model = pruning.make_permanent(pruning.magnitude_prune(random_model(), 0.9))
    for _, module in pruning.encoder_linears(model):
        weight = module.weight.detach()
        packed = np.packbits((weight != 0).numpy()).nbytes + weight[weight != 0].numpy().nbytes
        assert packed == compression.bitmask_bytes(*weight.shape, int(torch.count_nonzero(weight)))
    for value_bytes in (4, 2, 1):
        s = compression.bitmask_break_even(value_bytes)
        kept = lambda sparsity: round((1 - sparsity) * 64 * 64)
        assert compression.bitmask_bytes(64, 64, kept(s + 0.01), value_bytes) < 64 * 64 * value_bytes
        assert compression.bitmask_bytes(64, 64, kept(s - 0.01), value_bytes) > 64 * 64 * value_bytes


def test_layer_sparsities_average_to_the_models_sparsity() -> None:
    model = pruning.magnitude_prune(random_model(), 0.8)  # global: layers differ, the total is 80%
    shares = pruning.layer_sparsities(model)
    sizes = {name: module.weight.numel() for name, module in pruning.encoder_linears(model)}
    assert sum(shares[n] * sizes[n] for n in sizes) / sum(sizes.values()) == pytest.approx(pruning.sparsity(model))
    assert pruning.sparsity(model) == pytest.approx(0.8, abs=1e-4) and len(set(shares.values())) > 1


def test_structured_removal_matches_the_parameter_formulas() -> None:
    model = random_model()  # width 128, 2 heads of 64, FFN 512
    before = measure.count_parameters(model)
    pruning.remove_heads(model, {0: [1]})
    assert before - measure.count_parameters(model) == compression.head_parameters(128, 64)
    pruning.remove_ffn_neurons(model, 0.25)
    assert before - measure.count_parameters(model) == (compression.head_parameters(128, 64)
                                                         + 2 * 128 * compression.ffn_neuron_parameters(128))
    with pytest.raises(ValueError, match="nonzero must be between 0 and rows"):
        compression.csr_bytes(2, 2, 5)


def test_every_encoder_linear_has_a_label() -> None:
    labels = [pruning.linear_label(name) for name, _ in pruning.encoder_linears(random_model())]
    assert labels[:6] == ["layer 0 query", "layer 0 key", "layer 0 value", "layer 0 attention output",
                          "layer 0 FFN in", "layer 0 FFN out"] and len(set(labels)) == 12
    with pytest.raises(ValueError, match="not the name of an encoder Linear layer"):
        pruning.linear_label("bert.pooler.dense")
