"""llmedu.kv_cache against transformers: which layers slide, and the bytes a filled cache really holds."""

from __future__ import annotations

import random

import pytest
import torch
from test_decoders import random_config, real_config
from transformers import AutoModelForCausalLM, DynamicCache
from transformers.cache_utils import get_layer_types_and_kwargs

from llmedu import decoders, kv_cache


def with_windows(rng: random.Random, settings: dict) -> dict:
    """A random config with the window settings its family knows, sometimes an explicit ``layer_types``."""
    family, layers = settings["model_type"], settings["num_hidden_layers"]
    window = rng.choice([None, rng.randint(2, 9)])
    if family in ("mistral", "mixtral", "phi3", "gemma2"):
        settings["sliding_window"] = window if family != "gemma2" else window or 4
    if family in ("qwen2", "qwen3"):
        settings.update(use_sliding_window=rng.random() < 0.6, sliding_window=window or 5,
                        max_window_layers=rng.randint(0, layers))
    if family in ("gemma2", "qwen2", "qwen3") and rng.random() < 0.3:
        settings["layer_types"] = [rng.choice(["sliding_attention", "full_attention"]) for _ in range(layers)]
        settings["sliding_window"] = settings.get("sliding_window") or 6
        if family != "gemma2":
            settings["use_sliding_window"] = True  # Qwen drops the window otherwise, whatever layer_types says
    return settings


RNG = random.Random(21)
CONFIGS = [with_windows(RNG, random_config(RNG, family)) for family in decoders.FAMILIES for _ in range(8)]


def transformers_layout(cfg) -> tuple[int, int]:
    """(window, sliding layers) as transformers builds a DynamicCache for ``cfg``."""
    types, kwargs = get_layer_types_and_kwargs(cfg)
    windows = {k["sliding_window"] for t, k in zip(types, kwargs) if t == "sliding_attention"}
    assert len(windows) <= 1
    return (windows.pop() if windows else 0), sum(t == "sliding_attention" for t in types)


@pytest.mark.parametrize("settings", CONFIGS, ids=lambda s: s["model_type"])
def test_sliding_layers_are_those_transformers_caches_with_a_window(settings):
    layout = kv_cache.layout_from_config(settings)
    assert (layout.sliding_window, layout.n_sliding) == transformers_layout(real_config(settings))
    assert (layout.sliding_window, layout.n_sliding) == (kv_cache.layout_from_config(real_config(settings)).sliding_window,
                                                         layout.n_sliding)


@pytest.mark.parametrize("name", list(decoders.PRESETS))
def test_presets_layouts_match_transformers(name):
    layout = kv_cache.layout_from_config(decoders.preset(name))
    assert (layout.sliding_window, layout.n_sliding) == transformers_layout(real_config(decoders.preset(name)))


@pytest.mark.parametrize(("family", "window", "seq_len", "batch"), [
    ("llama", None, 13, 2), ("mistral", 5, 13, 2), ("mistral", 5, 3, 1), ("gemma2", 4, 11, 3), ("qwen2", 6, 9, 2)])
def test_a_filled_cache_holds_what_the_formula_says(family, window, seq_len, batch):
    settings = {"model_type": family, "vocab_size": 50, "hidden_size": 32, "intermediate_size": 40,
                "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8}
    if window is not None:
        settings["sliding_window"] = window
    if family == "qwen2":
        settings.update(use_sliding_window=True, max_window_layers=1)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(real_config(settings)).to(torch.bfloat16).eval()
    cache = DynamicCache(config=model.config)
    ids = torch.randint(0, 50, (batch, seq_len), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(input_ids=ids[:, :-1], past_key_values=cache, use_cache=True)
        model(input_ids=ids[:, -1:], past_key_values=cache, use_cache=True)  # one decoding step
    held = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert held == kv_cache.cache_bytes(kv_cache.layout_from_config(settings), seq_len, batch, "bf16")


def test_low_bit_caches_cost_their_scales():
    layout = kv_cache.layout_from_config(decoders.preset("llama-3-8b"))
    bf16 = kv_cache.cache_bytes(layout, 8192)
    assert kv_cache.cache_bytes(layout, 8192, kv_format="fp8") == bf16 / 2
    assert kv_cache.cache_bytes(layout, 8192, kv_format="int4_g64") == bf16 * (32 + 4) / 128
    assert kv_cache.per_token_bytes(layout) * 8192 == bf16  # no window: linear in the context


@pytest.mark.parametrize(("call", "message"), [
    (lambda: kv_cache.bytes_per_value("int3"), "unknown kv_format"),
    (lambda: kv_cache.KVLayout(4, 64, 1, 2), "sliding_window must be a whole number >= 2"),
    (lambda: kv_cache.KVLayout(4, 64, 8, 5), "n_sliding must be between 0 and n_layers"),
    (lambda: kv_cache.layout_from_config({**decoders.preset("mistral-7b"), "sliding_window": 0}),
     "sliding_window must be a whole number >= 1"),
    (lambda: kv_cache.layout_from_config({"model_type": "bert"}), "unknown model_type"),
])
def test_bad_arguments_get_one_line_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
