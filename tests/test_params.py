"""llmedu.params against real transformers models (built on the meta device), and the article's formula."""

from __future__ import annotations

import random
import re

import pytest
from model_builders import make_config, meta_model, numel
from transformers import GPT2LMHeadModel

from llmedu import params


def random_settings(rng: random.Random, family: str) -> dict:
    """A random but valid config of ``family`` in transformers' own key names."""
    heads = rng.randint(1, 6)
    width = heads * rng.choice([2, 4, 8, 16])
    sizes = {"d_model": width, "n_layers": rng.randint(1, 4), "n_heads": heads, "d_ff": rng.randint(1, 130),
             "vocab_size": rng.randint(8, 400), "n_positions": rng.randint(4, 300)}
    if family in ("bert", "roberta"):
        sizes["n_token_types"] = rng.randint(0, 3)
    settings = {"model_type": family, "pad_token_id": 0}
    settings.update({params.FAMILY_KEYS[family][k]: v for k, v in sizes.items()})
    if family == "gpt2":
        settings.update(bos_token_id=0, eos_token_id=0)
        if rng.random() < 0.3:
            settings["n_inner"] = None  # GPT-2's default: 4 * n_embd
    if family in ("bert", "roberta", "gpt2") and rng.random() < 0.3:
        settings.update(add_cross_attention=True, is_decoder=True)
    return settings


RNG = random.Random(2026)
RANDOM_SETTINGS = [random_settings(RNG, family) for family in params.FAMILIES for _ in range(12)]


@pytest.mark.parametrize("settings", RANDOM_SETTINGS, ids=lambda s: s["model_type"])
def test_exact_count_equals_real_model_for_random_configs(settings):
    cfg = make_config(settings)
    assert params.from_config(cfg).total == numel(meta_model(cfg))


@pytest.mark.parametrize("name", list(params.PRESETS))
def test_exact_count_equals_real_model_for_presets(name):
    cfg = make_config(params.preset(name))
    assert params.from_config(cfg).total == numel(meta_model(cfg))


# The known totals of well-known models (claims-to-check.md), from a second source.
@pytest.mark.parametrize("name, total", [("gpt2", 124_439_808), ("bert-base", 109_482_240),
                                         ("distilbert", 66_362_880)])
def test_known_totals(name, total):
    assert params.from_config(params.preset(name)).total == total


def test_six_layer_bert():
    assert params.from_config({"model_type": "bert", "num_hidden_layers": 6}).total == 66_955_008


# Which component each real parameter belongs to, by its name in transformers.
COMPONENT_PATTERNS = [
    (r"(word_embeddings|wte)\.", "token_embeddings"),
    (r"(position_embeddings|wpe)\.", "position_embeddings"),
    (r"token_type_embeddings\.", "token_type_embeddings"),
    (r"^embeddings\.LayerNorm\.", "embedding_layer_norm"),
    (r"(LayerNorm|layer_norm|ln_1|ln_2|ln_cross_attn)\.", "layer_norms"),
    (r"(crossattention)\.", "cross_attention"),
    (r"(attention|attn)\.", "attention"),
    (r"(intermediate|output\.dense|ffn|mlp)\.", "ffn"),
    (r"^ln_f\.", "final_layer_norm"),
    (r"^pooler\.", "pooler"),
]


def real_components(model) -> dict[str, int]:
    totals: dict[str, int] = {}
    for name, p in model.named_parameters():
        component = next(c for pattern, c in COMPONENT_PATTERNS if re.search(pattern, name))
        totals[component] = totals.get(component, 0) + p.numel()
    return {c: n for c, n in totals.items() if n}


@pytest.mark.parametrize("settings", [params.preset("bert-base"), params.preset("distilbert"), params.preset("gpt2"),
                                      *[s for s in RANDOM_SETTINGS if s.get("add_cross_attention")][:4]],
                         ids=lambda s: s["model_type"])
def test_each_component_equals_real_model(settings):
    cfg = make_config(settings)
    expected = {k: v for k, v in params.from_config(cfg).components.items() if v}
    assert real_components(meta_model(cfg)) == expected


def test_untied_output_head_matches_lm_head_model():
    settings = {**params.preset("gpt2"), "n_layer": 2}
    untied = make_config({**settings, "tie_word_embeddings": False})
    tied = make_config(settings)
    assert params.from_config(untied, output_head="untied").total == numel(meta_model(untied, GPT2LMHeadModel))
    assert params.from_config(tied, output_head="tied").total == numel(meta_model(tied, GPT2LMHeadModel))


@pytest.mark.parametrize("family", params.FAMILIES)
def test_family_defaults_are_the_config_classes_defaults(family):
    real = make_config({"model_type": family}).to_dict()
    assert {key: real[key] for key in params.FAMILY_DEFAULTS[family]} == params.FAMILY_DEFAULTS[family]


def test_gpt3_shape_is_not_175b_by_the_articles_arithmetic():
    count = params.from_config(params.preset("gpt3-175b"))
    d = count.shape.d_model
    assert count.layer_total == 12 * d * d + 13 * d
    assert 174e9 < count.total < 175e9


def test_article_formula_term_by_term():
    a = params.article_formula(vocab_size=50_000, d_model=768, n_layers=12)
    assert a.embedding == 50_000 * 768
    assert a.attention == 4 * 768**2
    assert a.ffn == 2 * 768 * 3072 + 768 + 3072
    assert a.per_layer == a.attention + a.ffn + 2 * a.layer_norm
    assert a.total == 12 * a.per_layer + a.embedding


def test_article_formula_differs_from_exact_count_by_what_it_omits():
    s = params.shape("gpt2", vocab_size=50_000, d_model=768, n_layers=12, n_heads=12, n_positions=1024)
    exact = params.count(s)
    a = params.article_formula(50_000, 768, 12)
    omitted = s.n_positions * 768 + 12 * 4 * 768 + 2 * 768  # positions, attention biases, final norm
    assert exact.total - a.total == omitted


@pytest.mark.parametrize("kwargs, fragment", [
    ({"d_model": 768, "n_heads": 7}, "divisible by n_heads"),
    ({"d_model": 0}, "d_model must be a whole number >= 1"),
    ({"n_layers": -2}, "n_layers must be a whole number >= 1"),
    ({"n_layers": 2.5}, "n_layers must be a whole number"),
    ({"vocab_size": "30522"}, "vocab_size must be a whole number"),
])
def test_bad_shapes_raise_a_clear_value_error(kwargs, fragment):
    sizes = {"vocab_size": 100, "d_model": 64, "n_layers": 2, "n_heads": 4, **kwargs}
    with pytest.raises(ValueError, match=re.escape(fragment)):
        params.shape("bert", **sizes)


def test_unknown_family_and_preset_list_what_is_allowed():
    with pytest.raises(ValueError, match="allowed: bert, distilbert, gpt2, roberta, llama, mistral, qwen2, qwen3, "
                                         "mixtral, gemma2, phi3"):
        params.from_config({"model_type": "falcon"})
    with pytest.raises(ValueError, match="allowed: bert-tiny"):
        params.preset("bert-huge")
    with pytest.raises(ValueError, match="n_token_types must be 0"):
        params.shape("gpt2", vocab_size=10, d_model=8, n_layers=1, n_heads=2, n_token_types=2)
