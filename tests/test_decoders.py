"""llmedu.decoders against real transformers models of today's decoder families, built on the meta device."""

from __future__ import annotations

import random
import re

import pytest
import torch
from model_builders import numel
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

from llmedu import decoders, params


def random_config(rng: random.Random, family: str) -> dict:
    """A random but valid config.json of ``family``: GQA ratios, odd head widths, biases, tied and untied heads."""
    kv_heads = rng.randint(1, 3)
    heads = kv_heads * rng.randint(1, 4)
    settings = {"model_type": family, "vocab_size": rng.randint(8, 300), "hidden_size": heads * rng.choice([2, 4, 6, 8]),
                "intermediate_size": rng.randint(1, 90), "num_hidden_layers": rng.randint(1, 3),
                "num_attention_heads": heads, "num_key_value_heads": kv_heads,
                "tie_word_embeddings": rng.random() < 0.5, "pad_token_id": 0, "bos_token_id": 0, "eos_token_id": 0}
    if rng.random() < 0.5 or family in ("qwen3", "gemma2"):
        settings["head_dim"] = 2 * rng.randint(1, 6)  # even (rotary), and need not be hidden_size / heads
    if family in ("llama", "qwen3", "gemma2"):
        settings["attention_bias"] = rng.random() < 0.5
    if family == "llama":
        settings["mlp_bias"] = rng.random() < 0.5
    if family == "mixtral":
        experts = rng.randint(1, 4)
        settings.update(num_local_experts=experts, num_experts_per_tok=rng.randint(1, experts))
    return settings


def real_config(settings: dict):
    settings = dict(settings)
    return AutoConfig.for_model(settings.pop("model_type"), **settings)


def meta_numel(cfg, model_class) -> int:
    with torch.device("meta"):
        return numel(model_class.from_config(cfg))


RNG = random.Random(19)
RANDOM_CONFIGS = [random_config(RNG, family) for family in decoders.FAMILIES for _ in range(10)]


@pytest.mark.parametrize("settings", RANDOM_CONFIGS, ids=lambda s: s["model_type"])
def test_exact_count_equals_the_real_model_for_random_configs(settings):
    cfg = real_config(settings)
    assert decoders.from_config(settings).total == meta_numel(cfg, AutoModel)
    assert decoders.from_config(cfg, output_head="config").total == meta_numel(cfg, AutoModelForCausalLM)
    assert params.from_config(settings).total == decoders.from_config(settings).total  # one entry point


@pytest.mark.parametrize("name", list(decoders.PRESETS))
def test_exact_count_equals_the_real_model_for_presets(name):
    cfg = real_config(decoders.preset(name))
    assert decoders.from_config(cfg, output_head="config").total == meta_numel(cfg, AutoModelForCausalLM)


# Totals the model cards publish (rounded there), as a second source for the presets' shapes.
@pytest.mark.parametrize("name, billions", [("llama-3-8b", 8.03), ("llama-3-70b", 70.55), ("mistral-7b", 7.24),
                                            ("mixtral-8x7b", 46.70), ("qwen2.5-7b", 7.62), ("qwen2.5-0.5b", 0.49),
                                            ("qwen3-8b", 8.19), ("gemma-2-2b", 2.61), ("phi-3-mini", 3.82),
                                            ("smollm2-135m", 0.13)])
def test_presets_match_their_published_sizes(name, billions):
    assert round(decoders.from_config(decoders.preset(name), output_head="config").total / 1e9, 2) == billions


def test_mixtral_counts_the_experts_a_token_uses():
    count = decoders.from_config(decoders.preset("mixtral-8x7b"), output_head="config")
    expert = 3 * 4096 * 14336
    assert count.total - count.active == 32 * (8 - 2) * expert
    assert round(count.active / 1e9, 1) == 12.9  # "12.9B active parameters" (Mistral AI)
    dense = decoders.from_config(decoders.preset("mistral-7b"))
    assert dense.active == dense.total


@pytest.mark.parametrize("family", decoders.FAMILIES)
def test_defaults_are_those_of_the_config_class(family):
    real = AutoConfig.for_model(family)
    for key, value in decoders.DEFAULTS[family].items():
        if value is not None:
            assert getattr(real, key) == value, key
    default_shape = decoders.shape_from_config({"model_type": family})
    assert default_shape.n_kv_heads == real.num_key_value_heads
    assert default_shape.head_dim == (getattr(real, "head_dim", None) or real.hidden_size // real.num_attention_heads)


@pytest.mark.parametrize("settings, fragment", [
    ({"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5},
     "num_attention_heads (32) must be a multiple of num_key_value_heads (5)"),
    ({"model_type": "falcon"}, "unknown model_type 'falcon'; allowed: llama, mistral, qwen2, qwen3, mixtral, gemma2, phi3"),
    ({"model_type": "qwen2", "hidden_size": 0}, "hidden_size must be a whole number >= 1"),
    ({"model_type": "mixtral", "num_local_experts": 4, "num_experts_per_tok": 5},
     "num_experts_per_tok must be between 1 and num_local_experts (4)"),
])
def test_bad_configs_get_one_clear_line(settings, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        decoders.from_config(settings)
