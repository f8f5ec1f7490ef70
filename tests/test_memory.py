"""llmedu.memory: each formula held against a measurement on a real (small) model where one exists."""

from __future__ import annotations

import re

import pytest
import torch
from model_builders import make_config, numel
from transformers import AutoModel, BertModel, GPT2Model

from llmedu import memory, params, units


@pytest.mark.parametrize("dtype, torch_dtype", [("fp32", torch.float32), ("fp16", torch.float16),
                                                ("bf16", torch.bfloat16)])
def test_weights_bytes_equals_bytes_of_real_tensors(dtype, torch_dtype):
    settings = {**params.preset("bert-tiny"), "vocab_size": 1000}
    torch.manual_seed(0)
    model = AutoModel.from_config(make_config(settings)).to(torch_dtype)
    measured = sum(p.numel() * p.element_size() for p in model.parameters())
    assert memory.weights_bytes(params.from_config(settings).total, dtype) == measured


def test_weights_int8_and_int4_are_one_and_a_half_byte_per_parameter():
    assert memory.weights_bytes(1000, "int8") == 1000
    assert memory.weights_bytes(1000, "int4") == 500


def test_kv_cache_equals_the_cache_gpt2_keeps():
    settings = {**params.preset("gpt2"), "n_layer": 3, "n_embd": 64, "n_head": 4, "vocab_size": 100,
                "n_positions": 64, "bos_token_id": 0, "eos_token_id": 0}
    torch.manual_seed(0)
    model = GPT2Model(make_config(settings)).eval()
    batch, seq = 3, 10
    with torch.no_grad():
        cache = model(torch.zeros(batch, seq, dtype=torch.long), use_cache=True).past_key_values
    measured = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert memory.kv_cache_bytes(n_layers=3, d_model=64, seq_len=seq, batch=batch, dtype="fp32") == measured


@pytest.mark.parametrize("heads,kv_heads,head_dim", [(8, 2, 16), (4, 1, 8), (4, 4, 32)])
def test_kv_cache_with_grouped_query_attention_equals_the_cache_llama_keeps(heads, kv_heads, head_dim):
    from transformers import LlamaConfig, LlamaModel

    config = LlamaConfig(vocab_size=100, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, head_dim=head_dim)
    torch.manual_seed(0)
    model = LlamaModel(config).eval()
    batch, seq = 2, 7
    with torch.no_grad():
        cache = model(torch.zeros(batch, seq, dtype=torch.long), use_cache=True).past_key_values
    measured = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert memory.kv_cache_bytes(2, 64, seq, batch, "fp32", kv_width=kv_heads * head_dim) == measured


def test_training_states_are_16_bytes_per_parameter_in_both_schemes():
    for scheme in memory.TRAINING_STATES:
        assert sum(memory.training_states(10, scheme).values()) == 160


def test_fp32_adam_states_equal_what_torch_adam_allocates():
    torch.manual_seed(0)
    model = BertModel(make_config({**params.preset("bert-tiny"), "vocab_size": 500}), add_pooling_layer=False)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(2, 8, dtype=torch.long)).last_hidden_state.sum().backward()
    optimizer.step()
    n = numel(model)
    grads = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters())
    moments = sum(t.numel() * t.element_size() for state in optimizer.state.values()
                  for key, t in state.items() if key in ("exp_avg", "exp_avg_sq"))
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    expected = memory.training_states(n, "fp32_adam")
    assert (weights, grads, moments) == (expected["weights"], expected["gradients"],
                                         expected["adam_momentum"] + expected["adam_variance"])


def test_article_activation_parts_sum_to_20E_not_14E():
    b, s, h = 4, 128, 768
    e = b * s * h
    assert memory.activations_per_layer_article_parts(b, s, h) == 20 * e + 4 * b * s * s
    assert memory.activations_per_layer_article(b, s, h) == 14 * e + 4 * b * s * s


def test_korthikanti_grows_with_heads_and_article_does_not():
    few = memory.activations_per_layer_korthikanti(2, 64, 128, n_heads=2)
    many = memory.activations_per_layer_korthikanti(2, 64, 128, n_heads=8)
    assert many - few == 5 * (8 - 2) * 64 * 64 * 2


def test_article_peak_is_the_sum_of_its_terms():
    n, layers, b, s, h, v = 10_000, 2, 2, 16, 32, 100
    assert memory.peak_article(n, layers, b, s, h, v) == (16 * n + 8 * b * s + layers * (14 * b * s * h + 4 * b * s * s)
                                                         + 6 * b * s * v + 4 * b * s * v)


def test_a_language_models_loss_adds_its_backward_tensors_to_the_peak():
    loss = memory.lm_loss_bytes(batch=2, seq_len=16, vocab_size=1000)
    assert loss == {"saved": 4 * 2 * 16 * 1000, "backward_extra": 8 * 2 * 16 * 1000}
    n, activations = 10_000, 500_000
    assert memory.peak_training(n, activations, backward_extra=loss["backward_extra"]) \
        == 12 * n + activations + loss["backward_extra"]
    assert memory.peak_training(n, 0, backward_extra=0) == 16 * n  # the gradients' moment still bounds it below
    with pytest.raises(ValueError, match="backward_extra must be a whole number >= 0"):
        memory.peak_training(n, activations, backward_extra=-1)


def test_report_adds_kv_cache_only_for_decoders():
    gpt2 = memory.report(params.from_config(params.preset("gpt2")), batch=2, seq_len=128, dtype="fp16")
    bert = memory.report(params.from_config(params.preset("bert-base")), batch=2, seq_len=128)
    assert gpt2["inference"]["kv_cache"] == memory.kv_cache_bytes(12, 768, 128, 2, "fp16")
    assert "kv_cache" not in bert["inference"]
    assert bert["inference"]["eleuther_1.2x"] == pytest.approx(1.2 * bert["inference"]["weights"])


@pytest.mark.parametrize("call, fragment", [
    (lambda: memory.weights_bytes(-1), "n_params must be a whole number >= 0"),
    (lambda: memory.weights_bytes(10, "fp8"), "unknown dtype 'fp8'; allowed: fp32, fp16, bf16, int8, int4"),
    (lambda: memory.kv_cache_bytes(12, 768, 0, 1), "seq_len must be a whole number >= 1"),
    (lambda: memory.training_states(10, "sgd"), "unknown scheme 'sgd'; allowed: fp32_adam, mixed_adam, autocast_adam"),
    (lambda: memory.report(params.from_config(params.preset("bert-base")), seq_len=513),
     "seq_len (513) must not exceed the model's positions (512)"),
    (lambda: units.describe_size(-5), "n_bytes must be >= 0"),
])
def test_bad_input_raises_a_clear_value_error(call, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        call()


def test_sizes_name_their_unit_family():
    assert units.describe_size(493_670_400) == "493.7 MB (470.8 MiB)"
    assert units.to_mib(units.MiB) == 1 and units.to_mb(units.MB) == 1
