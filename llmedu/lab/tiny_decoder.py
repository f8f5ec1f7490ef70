"""A tiny Llama-style decoder trained here on the book's prose, on the text alone or distilled from SmolLM2.

The decoder (:func:`config`) is a ``LlamaForCausalLM`` with SmolLM2's tokenizer and vocabulary, so
that SmolLM2's next-token logits are over the same tokens as its own and token-level distillation
needs no mapping; with 49,152 tokens and a width of 64, its embedding table (shared with the
output head) is most of its parameters. It learns from :data:`TRAINING_WINDOWS` windows of
:data:`WINDOW` tokens of the book's calibration prose (:func:`training_ids`) and is scored on the
book's other prose (:func:`scored_ids`; the rest of the calibration prose, :func:`held_out_ids`,
is for choosing a baseline's settings), through the labs' training loop
(:func:`llmedu.lab.train.train`) with the loss of :func:`llmedu.lab.distillation.top_k_loss_fn`:
``alpha`` = 0 is training on the text alone, ``alpha`` > 0 adds SmolLM2's :data:`TOP_K` largest
logits per token as soft targets. :func:`trained` keeps what it trains in the labs' cache, keyed by
what made it (settings, text, teacher's weights; not the library versions), as
:func:`llmedu.lab.train.trained` does for the tiny BERT.

Leaves out distillation from generated text (sequence-level), from the student's own samples
(on-policy), from the teacher's hidden states, and training at any scale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import torch

from llmedu.lab import distillation, language_model, smollm2, train

#: Tokens per window, for training and for scoring.
WINDOW = 128
#: Windows of the calibration prose the decoder learns from (8,192 tokens).
TRAINING_WINDOWS = 64
#: Windows of the scored prose (1,024 tokens).
SCORED_WINDOWS = 8
#: The teacher's logits kept per token for distillation.
TOP_K = 64
#: The decoder's shape: width, FFN width, layers, query heads, key/value heads (grouped-query attention).
SHAPE = {"hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2}
#: How it is trained: 8 epochs of 8 windows a step (64 steps), a learning rate large enough for a model this small.
TRAINING = train.TrainConfig(epochs=8, learning_rate=3e-3, batch_size=8, weight_decay=0.01, warmup=0.1, seed=0)
#: The distilled decoder's loss: the teacher's top-k at temperature 1, half and half with the next token.
TEMPERATURE, ALPHA = 1.0, 0.5


def config(tokenizer: Any) -> Any:
    """The decoder's ``LlamaConfig``: :data:`SHAPE`, the tokenizer's vocabulary, tied embeddings."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer), max_position_embeddings=WINDOW, tie_word_embeddings=True,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id, **SHAPE)


def build(tokenizer: Any, seed: int = 0) -> torch.nn.Module:
    """An untrained decoder, its weights drawn from ``seed``."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(config(tokenizer))


def training_ids(tokenizer: Any) -> torch.Tensor:
    """The text it learns from: the first :data:`TRAINING_WINDOWS` windows of the calibration prose."""
    return language_model.windows(tokenizer, TRAINING_WINDOWS, WINDOW, text=language_model.calibration_text())


def held_out_ids(tokenizer: Any) -> torch.Tensor:
    """The rest of the calibration prose, after the training windows, in whole windows: text that
    neither trains nor scores, for choosing a baseline's settings."""
    ids = tokenizer(language_model.calibration_text(), add_special_tokens=False)["input_ids"][TRAINING_WINDOWS * WINDOW:]
    return torch.tensor(ids[:len(ids) // WINDOW * WINDOW]).view(-1, WINDOW)


def scored_ids(tokenizer: Any) -> torch.Tensor:
    """The text it is scored on: the first :data:`SCORED_WINDOWS` windows of the scored prose."""
    return language_model.windows(tokenizer, SCORED_WINDOWS, WINDOW)


def training_data(input_ids: torch.Tensor, teacher: torch.nn.Module | None = None) -> train.Batch:
    """The windows as a training set for :func:`llmedu.lab.train.train`: ``labels`` are the next
    tokens; with a ``teacher``, its top-:data:`TOP_K` logits at every position travel along."""
    data = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": input_ids[:, 1:]}
    if teacher is not None:
        data.update(distillation.teacher_top_k(teacher, input_ids, TOP_K))
    return data


@dataclass
class TrainedDecoder:
    """A trained decoder, its training history (mean loss per epoch) and where it came from ("trained" or "cache")."""

    model: torch.nn.Module
    history: list[dict[str, float]]
    source: str


def entry_name(input_ids: torch.Tensor, teacher_digest: str | None) -> str:
    """The cache entry of the decoder trained on ``input_ids``, alone (``None``) or from the teacher with this weights digest."""
    how = {"teacher": teacher_digest, "top_k": TOP_K, "temperature": TEMPERATURE, "alpha": ALPHA} if teacher_digest else None
    content = json.dumps({"format": train.CACHE_FORMAT, "shape": SHAPE, "window": WINDOW, "training": asdict(TRAINING),
                          "text": hashlib.sha256(input_ids.numpy().tobytes()).hexdigest(), "distilled": how})
    return f"decoder-{'distilled' if teacher_digest else 'alone'}-{hashlib.sha256(content.encode()).hexdigest()[:20]}"


def trained(tokenizer: Any, teacher: torch.nn.Module | None = None, use_cache: bool = True,
            progress: bool = False) -> TrainedDecoder:
    """The decoder trained on :func:`training_ids`, on the text alone or, given SmolLM2 as ``teacher``,
    distilled from it; from the cache where it was trained before (the teacher then never runs)."""
    input_ids = training_ids(tokenizer)
    folder = train.cache_dir() / entry_name(input_ids, None if teacher is None else smollm2.weights_digest(teacher))
    model = build(tokenizer, TRAINING.seed)
    if use_cache:
        try:
            return TrainedDecoder(model.eval(), train.load(folder, model), "cache")
        except Exception:  # a missing or damaged entry: train
            model = build(tokenizer, TRAINING.seed)
    alpha = 0.0 if teacher is None else ALPHA
    history = train.train(model, training_data(input_ids, teacher), TRAINING, progress=progress,
                          loss_fn=distillation.top_k_loss_fn(TEMPERATURE, alpha))
    if use_cache:
        train.save(folder, model, history)
    return TrainedDecoder(model, history, "trained")
