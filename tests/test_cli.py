"""The command line, run as a reader runs it: ``python -m llmedu ...`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmedu import memory, params


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
    assert all(name in result.stdout for name in params.PRESETS)


@pytest.mark.parametrize("args, fragment", [
    (["params", "--heads", "7"], "must be divisible by n_heads"),
    (["params", "--layers", "0"], "n_layers must be a whole number >= 1"),
    (["params", "--layers", "twelve"], "expected a whole number, got 'twelve'"),
    (["params", "--preset", "bert-huge"], "unknown preset 'bert-huge'"),
    (["params", "--family", "t5"], "unknown family 't5'"),
    (["params", "--preset", "gpt2", "--family", "gpt2"], "either --preset or --family"),
    (["memory", "--dtype", "fp8"], "unknown dtype 'fp8'"),
    (["memory", "--preset", "bert-base", "--seq", "4096"], "must not exceed the model's positions (512)"),
    (["memory", "--batch", "-1"], "batch must be a whole number >= 1"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_gives_one_line_and_exit_status_2(args, fragment):
    result = run(*args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
