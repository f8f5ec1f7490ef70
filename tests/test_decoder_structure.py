"""Structured removal in a decoder: FFN neurons, key/value groups and whole blocks leave a smaller model.

A small Llama model stands in for SmolLM2 (the real model runs in Lab 11, checked by nbval). Each
removal is checked against the same model with the removed units switched off in place, so the
slicing is tested, not just the shapes.
"""

from __future__ import annotations

import pytest
import torch

from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from llmedu import decoders
from llmedu.lab import decoder_structure
from test_decoder_lab import tiny_llama

IDS = torch.randint(0, 72, (3, 24), generator=torch.Generator().manual_seed(5))


def deeper(seed: int, family: str = "llama", biases: bool = False) -> torch.nn.Module:
    """Four blocks (so that blocks in the middle can go), biases on every Linear layer if asked."""
    torch.manual_seed(seed)
    sizes = dict(vocab_size=72, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=128)
    if family == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**sizes)).eval()
    return LlamaForCausalLM(LlamaConfig(**sizes, attention_bias=biases, mlp_bias=biases)).eval()


def logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(IDS, use_cache=False).logits


def counted(model: torch.nn.Module) -> int:
    """The llmedu count of the model's (changed) config: the arithmetic agrees with the object."""
    return decoders.from_config(model.config.to_dict(), output_head="config").total


def test_scores_are_what_each_unit_adds_on_the_calibration_tokens() -> None:
    model = tiny_llama(seed=3)
    found = decoder_structure.scores(model, IDS)
    block = model.model.layers[1]
    seen = {}
    handles = [block.mlp.down_proj.register_forward_hook(lambda m, i, o: seen.update(h=i[0])),
               block.self_attn.o_proj.register_forward_hook(lambda m, i, o: seen.update(a=i[0]))]
    with torch.no_grad():
        hidden = model(IDS, output_hidden_states=True, use_cache=False).hidden_states
    for handle in handles:
        handle.remove()
    h = seen["h"].reshape(-1, seen["h"].shape[-1])
    expected = h.norm(dim=0) * block.mlp.down_proj.weight.norm(dim=0)
    torch.testing.assert_close(found["neurons"][1], expected, rtol=1e-4, atol=1e-6)
    a, w, width = seen["a"].reshape(-1, seen["a"].shape[-1]), block.self_attn.o_proj.weight, 2 * 16
    for g in range(2):
        part = a[:, g * width:(g + 1) * width] @ w[:, g * width:(g + 1) * width].T
        torch.testing.assert_close(found["groups"][1, g], part.norm(), rtol=1e-4, atol=1e-6)
    cosine = torch.nn.functional.cosine_similarity(hidden[0], hidden[1], dim=-1).mean()
    torch.testing.assert_close(found["influence"][0], 1 - cosine, rtol=1e-4, atol=1e-6)


def test_cached_scores_are_the_scores_and_the_second_call_runs_no_model(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("LLMEDU_CACHE", str(tmp_path))
    model, calls = deeper(3), []
    model.register_forward_hook(lambda *args: calls.append(1))
    first = decoder_structure.cached_scores(model, IDS)
    assert len(calls) == 1 and len(list(tmp_path.glob("structure-scores-*.pt"))) == 1
    again = decoder_structure.cached_scores(model, IDS)
    assert len(calls) == 1, "the second call scored the model again"
    expected = decoder_structure.scores(model, IDS)
    for name in ("neurons", "groups", "influence"):
        assert torch.equal(first[name], expected[name]) and torch.equal(again[name], expected[name])
    other_tokens = decoder_structure.cached_scores(model, IDS[:2])  # another text: another entry
    changed = deeper(4)  # other weights: another entry
    decoder_structure.cached_scores(changed, IDS)
    assert len(list(tmp_path.glob("structure-scores-*.pt"))) == 3
    assert not torch.equal(other_tokens["neurons"], first["neurons"])
    next(tmp_path.glob("structure-scores-*.pt")).write_bytes(b"damaged")
    for m in (model, changed):
        decoder_structure.cached_scores(m, IDS)  # a damaged entry is scored again, not an error


def test_the_influence_of_every_block_is_one_minus_its_cosine() -> None:
    model = deeper(seed=6)
    found = decoder_structure.scores(model, IDS)["influence"]
    inputs = []
    hooks = [block.register_forward_hook(lambda m, args, kwargs, out: inputs.append((args[0] if args else kwargs["hidden_states"], out)),
                                         with_kwargs=True) for block in model.model.layers]
    with torch.no_grad():
        model(IDS, use_cache=False)
    for hook in hooks:
        hook.remove()
    expected = torch.stack([1 - torch.nn.functional.cosine_similarity(x, y, dim=-1).mean() for x, y in inputs])
    torch.testing.assert_close(found, expected, rtol=1e-4, atol=1e-6)


def test_removing_neurons_with_biases_equals_switching_them_off() -> None:
    model = deeper(seed=8, biases=True)
    score = torch.rand(4, 128, generator=torch.Generator().manual_seed(3))
    smaller = decoder_structure.remove_neurons(model, 0.5, score)
    switched_off = deeper(seed=8, biases=True)
    for i, block in enumerate(switched_off.model.layers):
        block.mlp.down_proj.weight.data[:, torch.argsort(score[i])[:64]] = 0
    torch.testing.assert_close(logits(smaller), logits(switched_off), rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in smaller.parameters()) == counted(smaller)


def test_removing_neurons_equals_switching_them_off() -> None:
    model = tiny_llama(seed=1)
    score = torch.rand(2, 128, generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    smaller = decoder_structure.remove_neurons(model, 0.25, score)
    assert smaller.config.intermediate_size == 96 and model.config.intermediate_size == 128
    switched_off = tiny_llama(seed=1)
    for i, block in enumerate(switched_off.model.layers):
        lowest = torch.argsort(score[i])[:32]
        block.mlp.down_proj.weight.data[:, lowest] = 0
    torch.testing.assert_close(logits(smaller), logits(switched_off), rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in smaller.parameters()) == counted(smaller) == counted(model) - 2 * 3 * 64 * 32
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items()), "the original is left as it was"


@pytest.mark.parametrize("tied", [True, False])
def test_removing_a_key_value_group_equals_switching_off_its_heads(tied: bool) -> None:
    model = tiny_llama(seed=2, tied=tied)
    score = torch.tensor([[1.0, 0.5], [0.2, 3.0]])  # block 0 loses group 1, block 1 group 0
    smaller = decoder_structure.remove_groups(model, 1, score)
    assert (smaller.config.num_attention_heads, smaller.config.num_key_value_heads, smaller.config.head_dim) == (2, 1, 16)
    switched_off = tiny_llama(seed=2, tied=tied)
    for block, group in zip(switched_off.model.layers, (1, 0)):
        block.self_attn.o_proj.weight.data[:, group * 32:(group + 1) * 32] = 0  # its two query heads' outputs
    torch.testing.assert_close(logits(smaller), logits(switched_off), rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in smaller.parameters()) == counted(smaller)


@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_dropping_middle_blocks_equals_skipping_them(family: str) -> None:
    model = deeper(seed=9, family=family)
    smaller = decoder_structure.drop_blocks(model, [1, 2])
    assert smaller.config.num_hidden_layers == 2
    if family == "qwen2":  # a config with a type per layer keeps the kept layers' types
        assert smaller.config.layer_types == [model.config.layer_types[i] for i in (0, 3)]
    skipping = deeper(seed=9, family=family)
    for i in (1, 2):
        skipping.model.layers[i].register_forward_hook(
            lambda m, args, kwargs, out: args[0] if args else kwargs["hidden_states"], with_kwargs=True)
    torch.testing.assert_close(logits(smaller), logits(skipping), rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in smaller.parameters()) == counted(smaller)


def test_dropping_blocks_equals_skipping_them() -> None:
    model = tiny_llama(seed=4)
    smaller = decoder_structure.drop_blocks(model, [0])
    assert smaller.config.num_hidden_layers == 1
    skipping = tiny_llama(seed=4)
    skipping.model.layers[0].register_forward_hook(lambda m, args, kwargs, out: args[0] if args else kwargs["hidden_states"],
                                                   with_kwargs=True)
    torch.testing.assert_close(logits(smaller), logits(skipping), rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in smaller.parameters()) == counted(smaller)


def test_the_blocks_to_drop_spare_the_first_and_the_last() -> None:
    influence = torch.tensor([0.0, 0.5, 0.1, 0.4, 0.2, 0.0])
    assert decoder_structure.blocks_to_drop(2, "influence", influence) == [2, 4]
    assert decoder_structure.blocks_to_drop(4, "influence", influence) == [1, 2, 3, 4]
    assert decoder_structure.blocks_to_drop(3, "last", n_blocks=6) == [2, 3, 4]


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: decoder_structure.remove_neurons(m, 1.0, torch.rand(2, 128)), "share must be a fraction"),
    (lambda m: decoder_structure.remove_neurons(m, 0.5, torch.rand(3, 128)), r"score has shape \(3, 128\); expected"),
    (lambda m: decoder_structure.remove_groups(m, 2, torch.rand(2, 2)), "removing 2 of 2 key/value groups leaves none"),
    (lambda m: decoder_structure.drop_blocks(m, [2]), "blocks to drop must be distinct numbers from 0 to 1"),
    (lambda m: decoder_structure.blocks_to_drop(1, "influence"), "criterion 'influence' needs the blocks' influence"),
    (lambda m: decoder_structure.blocks_to_drop(1, "first", n_blocks=4), "unknown criterion 'first'; allowed: last, influence"),
    (lambda m: decoder_structure.blocks_to_drop(3, "last", n_blocks=4), "dropping 3 of 4 blocks leaves too few"),
])
def test_bad_requests_say_what_is_allowed(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(tiny_llama())
