"""Causal language models in the labs: the scored text, perplexity, the KV cache as held, greedy text.

Any ``*ForCausalLM`` of transformers works (SmolLM2 from :mod:`llmedu.lab.smollm2`, and the
decoders the labs train). The scored text is the book's own English prose
(``llmedu/lab/eval_text.txt``, written once by ``scripts/make_eval_text.py``), cut end to end
into :data:`WINDOWS` windows of :data:`WINDOW` tokens; within a window every token but the first
is predicted from the ones before it. Methods that calibrate on data read other prose of the book
(``llmedu/lab/calibration_text.txt``, from the same script), which shares no sentence with it.
Perplexity is

.. math:: \\mathrm{PPL} = \\exp\\Big(-\\frac{1}{N}\\sum_{i=1}^{N} \\ln p(x_i \\mid x_{<i})\\Big)

over all N predicted tokens: the number of equally likely tokens the model is, on average,
choosing among. :func:`cache_bytes` measures what a ``past_key_values`` object holds, for
comparison with :func:`llmedu.kv_cache.cache_bytes`.

Leaves out loading (:mod:`llmedu.lab.smollm2`), quantization (:mod:`llmedu.lab.low_bit`) and
timing (:mod:`llmedu.lab.native_timer`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from llmedu import checks

EVAL_TEXT = Path(__file__).with_name("eval_text.txt")
CALIBRATION_TEXT = Path(__file__).with_name("calibration_text.txt")
#: The scored text's windows: count and length in tokens.
WINDOWS = 2
WINDOW = 512


def eval_text() -> str:
    """The book's English prose that the decoder labs score (about 1,400 words, 1,900 SmolLM2 tokens)."""
    return EVAL_TEXT.read_text(encoding="utf-8")


def calibration_text() -> str:
    """The book's English prose that calibration methods read (about 8,000 words, 11,000 SmolLM2 tokens):
    the rest of the chapters, with no sentence of :func:`eval_text`."""
    return CALIBRATION_TEXT.read_text(encoding="utf-8")


def windows(tokenizer: Any, count: int = WINDOWS, length: int = WINDOW, text: str | None = None) -> torch.Tensor:
    """The first ``count`` windows of ``length`` tokens of ``text`` (default :func:`eval_text`), as rows.

    No special tokens are added: the windows are consecutive pieces of the tokenized text.
    """
    count, length = checks.positive_int("count", count), checks.positive_int("length", length)
    ids = tokenizer(eval_text() if text is None else text, add_special_tokens=False)["input_ids"]
    if len(ids) < count * length:
        raise ValueError(f"the text has {len(ids)} tokens, fewer than {count} windows of {length}")
    return torch.tensor(ids[:count * length]).view(count, length)


def token_losses(model: torch.nn.Module, ids: torch.Tensor, batch_size: int = 4) -> torch.Tensor:
    """Negative log-likelihood (nats) of every token of ``ids`` after the first of its row, shape ``(rows, length - 1)``."""
    losses = []
    with torch.inference_mode():
        for start in range(0, len(ids), checks.positive_int("batch_size", batch_size)):
            rows = ids[start:start + batch_size]
            logits = model(input_ids=rows, use_cache=False).logits[:, :-1].float()
            losses.append(F.cross_entropy(logits.transpose(1, 2), rows[:, 1:], reduction="none"))
    return torch.cat(losses)


def perplexity(model: torch.nn.Module, ids: torch.Tensor, batch_size: int = 4) -> float:
    """``exp`` of the mean negative log-likelihood of the tokens of ``ids`` (every row's first token excepted)."""
    model.eval()
    return perplexity_of(token_losses(model, ids, batch_size))


def perplexity_of(losses: torch.Tensor) -> float:
    """``exp`` of the mean of per-token losses (nats), averaged in float64.

    >>> round(perplexity_of(torch.log(torch.tensor([4.0, 16.0]))), 6)
    8.0
    """
    return math.exp(float(losses.double().mean()))


def cache_bytes(past_key_values: Any) -> int:
    """Bytes of the key and value tensors a transformers cache holds in its layers' ``keys`` and ``values``.

    Right for a ``DynamicCache`` (sliding windows included); a ``QuantizedCache`` keeps its
    quantized part elsewhere, which this does not count.
    """
    total = 0
    for layer in past_key_values.layers:
        for name in ("keys", "values"):
            tensor = getattr(layer, name, None)
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()
    return total


def prefill(model: torch.nn.Module, ids: torch.Tensor) -> Any:
    """Run ``ids`` (batch, tokens) through ``model`` with a cache and return the cache it filled."""
    with torch.inference_mode():
        return model(input_ids=ids, use_cache=True).past_key_values


def greedy_ids(model: torch.nn.Module, ids: torch.Tensor, new_tokens: int, stop_at_end: bool = False,
               pad_token_id: int = 0) -> torch.Tensor:
    """The ``new_tokens`` most likely next tokens after ``ids`` (batch × prompt), one at a time, no sampling.

    Exactly ``new_tokens`` of them, unless ``stop_at_end``: then a sequence may end earlier, at the
    model's end-of-text token.
    """
    new_tokens = checks.positive_int("new_tokens", new_tokens)
    with torch.inference_mode():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new_tokens,
                             min_new_tokens=None if stop_at_end else new_tokens, pad_token_id=pad_token_id)
    return out[:, ids.shape[1]:]


def greedy(model: torch.nn.Module, tokenizer: Any, prompt: str, new_tokens: int = 24) -> str:
    """``prompt`` continued by the model's most likely token, up to ``new_tokens`` times (no sampling)."""
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return tokenizer.decode(greedy_ids(model, ids, new_tokens, stop_at_end=True, pad_token_id=pad)[0], skip_special_tokens=True)
