"""One reader of a model description: a named preset or a Hugging Face ``config.json``, as a config dict.

The command line reads models through it; every bad description ends in a ``ValueError`` of one
line that says what was wrong and what is allowed: a file that is missing or not JSON, an object
without a known ``model_type`` (the error lists the known ones), and, once counted, heads that are
not a multiple of the key/value heads or a size that is missing or not positive.

Covers the presets of :mod:`llmedu.params` (BERT, RoBERTa, DistilBERT, GPT-2 shapes) and of
:mod:`llmedu.decoders` (today's decoders). Leaves out fetching configs from a model hub (the book
is offline: save the file first). The command line reads files with :func:`load`, the browser
calculator pasted text with :func:`parse`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmedu import decoders, params

#: Every model_type a description may name.
MODEL_TYPES = params.FAMILIES + decoders.FAMILIES


def preset_names() -> list[str]:
    """The names of every preset, the classic shapes first."""
    return [*params.PRESETS, *decoders.PRESETS]


def preset(name: str) -> dict[str, Any]:
    """The config dict of a named preset from either table.

    >>> preset("gpt2")["n_embd"], preset("llama-3-8b")["num_key_value_heads"]
    (768, 8)
    """
    if name in decoders.PRESETS:
        return decoders.preset(name)
    if name in params.PRESETS:
        return params.preset(name)
    raise ValueError(f"unknown preset {name!r}; allowed: {', '.join(preset_names())}")


def parse(text: str, source: str = "the pasted text") -> dict[str, Any]:
    """The config dict in the text of a ``config.json`` (as pasted into the calculator), checked
    for a known ``model_type``; ``source`` names it in error messages.

    >>> parse('{"model_type": "llama", "num_key_value_heads": 8}')["num_key_value_heads"]
    8
    >>> parse('{"model_type": "t5"}')
    Traceback (most recent call last):
    ...
    ValueError: the pasted text has model_type 't5'; allowed: bert, distilbert, gpt2, roberta, llama, mistral, qwen2, qwen3, mixtral, gemma2, phi3
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{source} is empty; give a Hugging Face config.json")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source} is not JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                         "give a Hugging Face config.json") from None
    if not isinstance(config, dict):
        raise ValueError(f"{source} holds a JSON {type(config).__name__}, not an object with a model_type")
    if config.get("model_type") not in MODEL_TYPES:
        found = "no model_type" if "model_type" not in config else f"model_type {config['model_type']!r}"
        raise ValueError(f"{source} has {found}; allowed: {', '.join(MODEL_TYPES)}")
    return config


def load(path: str | Path) -> dict[str, Any]:
    """The config dict in a ``config.json`` file, checked as :func:`parse` checks it.

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     _ = f.write('{"model_type": "bert", "num_hidden_layers": 6}')
    >>> load(f.name)["num_hidden_layers"]
    6
    >>> os.remove(f.name)
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the config file {path}: {error}") from None
    return parse(text, str(path))
