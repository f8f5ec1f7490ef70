"""The command line, run as a reader runs it: ``python -m llmedu ...`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmedu import decoders, finetuning, fit, gguf_recipes, kv_cache, memory, params, speed


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmedu", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["bert-base", "gpt2-xl", "gpt3-175b"])
def test_params_json_matches_the_library(name):
    result = run("params", "--preset", name, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    count = params.from_config(params.preset(name))
    assert data["total"] == count.total and data["components"] == count.components


def test_params_table_shows_components_totals_and_both_units():
    result = run("params", "--preset", "bert-base")
    assert result.returncode == 0
    assert f"{params.from_config(params.preset('bert-base')).total:,}" in result.stdout
    for fragment in ("token_embeddings", "pooler", "MB (10^6 B)", "MiB (2^20 B)", "article's simplified formula"):
        assert fragment in result.stdout


def test_explicit_sizes_override_the_family_defaults():
    result = run("params", "--family", "gpt2", "--vocab", "1000", "--d-model", "64", "--layers", "2",
                 "--heads", "4", "--positions", "128", "--json")
    data = json.loads(result.stdout)
    expected = params.count(params.shape("gpt2", vocab_size=1000, d_model=64, n_layers=2, n_heads=4, n_positions=128))
    assert data["total"] == expected.total and data["shape"]["d_ff"] == 256


def test_memory_json_matches_the_library():
    result = run("memory", "--preset", "gpt2", "--seq", "512", "--batch", "4", "--dtype", "fp16", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    expected = memory.report(params.from_config(params.preset("gpt2")), batch=4, seq_len=512, dtype="fp16")
    assert data["inference"] == expected["inference"] and data["training_totals"] == expected["training_totals"]


def test_memory_json_sizes_are_whole_bytes():
    result = run("memory", "--preset", "bert-large", "--dtype", "int4", "--json")
    data = json.loads(result.stdout)
    sizes = [v for group in ("weights_by_dtype", "inference", "training_totals") for v in data[group].values()]
    assert sizes and all(isinstance(v, int) for v in sizes)
    assert data["inference"]["eleuther_1.2x"] >= 1.2 * data["inference"]["weights"]


def test_memory_table_runs_for_a_preset():
    result = run("memory", "--preset", "bert-base", "--seq", "128", "--batch", "8")
    assert result.returncode == 0 and "korthikanti" in result.stdout and "MiB" in result.stdout


def test_presets_lists_every_preset():
    result = run("presets")
    assert all(name in result.stdout for name in [*params.PRESETS, *decoders.PRESETS])


def test_a_config_file_counts_like_the_preset_it_copies(tmp_path):
    for name in ("gpt2", "qwen3-8b"):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(params.preset(name) if name in params.PRESETS else decoders.preset(name)))
        from_file, from_preset = (json.loads(run("params", option, value, "--json").stdout)
                                  for option, value in (("--config", str(path)), ("--preset", name)))
        assert from_file["total"] == from_preset["total"] and from_file["components"] == from_preset["components"]


def test_a_modern_decoder_counts_its_head_and_active_parameters():
    result = json.loads(run("params", "--preset", "mixtral-8x7b", "--json").stdout)
    count = decoders.from_config(decoders.preset("mixtral-8x7b"), output_head="config")
    assert result["total"] == count.total and result["active_per_token"] == count.active < count.total
    table = run("params", "--preset", "mixtral-8x7b").stdout
    assert "active per token" in table and f"{count.total:,}" in table


def test_a_modern_decoders_memory_has_the_grouped_query_kv_cache():
    result = json.loads(run("memory", "--preset", "llama-3-8b", "--seq", "8192", "--dtype", "bf16", "--json").stdout)
    assert result["kv_cache"]["per_token"] == 2 * 32 * 8 * 128 * 2  # layers, key/value heads, head width, bf16
    assert result["kv_cache"]["batch_and_sequence"] == 8192 * result["kv_cache"]["per_token"]
    assert result["weights_by_dtype"]["bf16"] == 2 * result["n_params"]
    count = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    assert result["weights_in_low_bit_formats"]["q4_k_m"] == gguf_recipes.model_file_bytes(count, "q4_k_m")
    assert result["weights_in_low_bit_formats"]["q4_k_m"] < result["weights_by_dtype"]["bf16"] / 2


def test_a_modern_decoders_memory_has_sliding_windows_low_bit_caches_and_fine_tuning():
    result = json.loads(run("memory", "--preset", "mistral-7b", "--seq", "32768", "--json").stdout)
    layout = kv_cache.layout_from_config(decoders.preset("mistral-7b"))
    assert result["sliding_window"] == {"window": 4096, "layers": 32}
    assert result["kv_cache"]["batch_and_sequence"] == kv_cache.cache_bytes(layout, 32768) < 32768 * result["kv_cache"]["per_token"]
    assert result["kv_cache_by_format"]["int4_g64"] == kv_cache.cache_bytes(layout, 32768, kv_format="int4_g64")
    count = decoders.from_config(decoders.preset("mistral-7b"), output_head="config")
    assert result["fine_tuning_peak"]["qlora"] == finetuning.training_peak(count, "qlora", 1, 32768, checkpointing=True)
    eager = json.loads(run("memory", "--preset", "mistral-7b", "--seq", "1024", "--attention", "eager",
                           "--no-checkpointing", "--json").stdout)
    assert eager["fine_tuning_activations"]["recomputed"] == 0
    assert "fine_tuning_peak" not in json.loads(run("memory", "--preset", "gemma-2-2b", "--seq", "64", "--json").stdout)


def test_fit_says_which_memory_sizes_hold_each_scenario():
    result = json.loads(run("fit", "--preset", "llama-3-8b", "--seq", "8192", "--format", "q4_k_m",
                            "--memory-gib", "16,24,80", "--json").stdout)
    expected = fit.will_it_fit(decoders.preset("llama-3-8b"), 8192, weight_format="q4_k_m", memory_gib=(16, 24, 80))
    assert result["scenarios"] == memory.whole_bytes(expected)
    assert result["scenarios"]["qlora"]["fits"] == [24, 80] and result["scenarios"]["full_mixed_adam"]["fits"] == []
    table = run("fit", "--preset", "smollm2-135m", "--seq", "2048").stdout
    assert "qlora" in table and "fits" in table and "80 GiB" in table


def test_speed_bounds_decoding_by_bandwidth_and_prefill_by_compute():
    result = json.loads(run("speed", "--preset", "llama-3-8b", "--seq", "4096", "--format", "q4_k_m", "--json").stdout)
    h100 = result["devices"]["h100-sxm"]
    assert h100["limit"] == "memory"
    assert h100["memory_bound"] == speed.DEVICES["h100-sxm"].bandwidth / (result["weight_bytes_read_per_step"]
                                                                         + result["cache_bytes_per_sequence"])
    assert h100["prefill_tokens_per_second_int8"] > h100["prefill_tokens_per_second"]
    assert result["devices"]["laptop-cpu"]["prefill_tokens_per_second_int8"] is None
    assert set(result["devices"]) == set(speed.DEVICES)
    big = json.loads(run("speed", "--preset", "llama-3-8b", "--seq", "512", "--batch", "4096", "--device",
                         "rtx-4090", "--json").stdout)
    assert list(big["devices"]) == ["rtx-4090"] and big["devices"]["rtx-4090"]["limit"] == "compute"


@pytest.mark.parametrize("args, fragment", [
    (["params", "--heads", "7"], "must be divisible by n_heads"),
    (["params", "--layers", "0"], "n_layers must be a whole number >= 1"),
    (["params", "--layers", "twelve"], "expected a whole number, got 'twelve'"),
    (["params", "--preset", "bert-huge"], "unknown preset 'bert-huge'"),
    (["params", "--family", "t5"], "unknown family 't5'"),
    (["params", "--preset", "gpt2", "--family", "gpt2"], "give one of --preset, --config and --family"),
    (["params", "--config", "/nonexistent/config.json"], "config file not found: /nonexistent/config.json"),
    (["params", "--preset", "llama-3-8b", "--layers", "3"], "size options (--layers) apply to bert"),
    (["memory", "--preset", "llama-3-8b"], "give the sequence length with --seq for llama"),
    (["memory", "--dtype", "fp8"], "unknown dtype 'fp8'"),
    (["memory", "--preset", "bert-base", "--seq", "4096"], "must not exceed the model's positions (512)"),
    (["memory", "--batch", "-1"], "batch must be a whole number >= 1"),
    (["frobnicate"], "invalid choice"),
    (["fit", "--preset", "bert-base", "--seq", "128"], "fit sizes today's decoders"),
    (["fit", "--seq", "128"], "give the model with --preset or --config"),
    (["fit", "--preset", "llama-3-8b"], "the following arguments are required: --seq"),
    (["fit", "--preset", "llama-3-8b", "--seq", "128", "--memory-gib", "24,lots"], "--memory-gib must be numbers"),
    (["fit", "--preset", "llama-3-8b", "--seq", "128", "--memory-gib", "0"], "memory size in GiB must be a finite number > 0"),
    (["fit", "--preset", "llama-3-8b", "--seq", "128", "--format", "q4_k"], "unknown format 'q4_k'"),
    (["speed", "--preset", "llama-3-8b", "--seq", "128", "--device", "tpu"], "unknown device 'tpu'"),
    (["fit", "--preset", "llama-3-8b", "--seq", "32768"], "a context of 32,768 tokens exceeds the model's 8,192"),
    (["speed", "--preset", "llama-3-8b", "--seq", "128", "--kv-dtype", "int2"], "unknown kv_format 'int2'"),
    (["memory", "--preset", "llama-3-8b", "--seq", "128", "--attention", "flash"], "unknown attention 'flash'"),
    (["memory", "--preset", "llama-3-8b", "--seq", "128", "--lora-rank", "0"], "rank must be a whole number >= 1"),
])
def test_bad_input_gives_one_line_and_exit_status_2(args, fragment):
    result = run(*args)
    _assert_one_line_error(result, fragment)


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "is not JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    ("[1, 2]", "holds a JSON list, not an object with a model_type"),
    ('{"hidden_size": 8}', "has no model_type; allowed: bert, distilbert, gpt2, roberta, llama"),
    ('{"model_type": "falcon"}', "has model_type 'falcon'; allowed: bert"),
    ('{"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5}',
     "num_attention_heads (32) must be a multiple of num_key_value_heads (5)"),
    ('{"model_type": "mistral", "hidden_size": -4}', "hidden_size must be a whole number >= 1"),
])
def test_a_bad_config_file_gives_one_line_and_exit_status_2(tmp_path, text, fragment):
    path = tmp_path / "config.json"
    path.write_text(text)
    _assert_one_line_error(run("params", "--config", str(path)), fragment)


def _assert_one_line_error(result, fragment):
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
