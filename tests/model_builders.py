"""Real models for the tests, built on the ``meta`` device: shapes without weights, no download."""

from __future__ import annotations

import logging
from typing import Any

import torch
import transformers
from transformers import AutoModel, BertConfig, DistilBertConfig, GPT2Config, RobertaConfig

CONFIG_CLASSES = {"bert": BertConfig, "roberta": RobertaConfig, "distilbert": DistilBertConfig, "gpt2": GPT2Config}

transformers.logging.set_verbosity_error()
logging.getLogger("transformers").setLevel(logging.ERROR)


def make_config(settings: dict[str, Any]) -> transformers.PretrainedConfig:
    """The transformers config of a dict with ``model_type`` and config keys (like ``llmedu.params.preset``)."""
    settings = dict(settings)
    return CONFIG_CLASSES[settings.pop("model_type")](**settings)


def meta_model(cfg: transformers.PretrainedConfig, model_class: Any = AutoModel) -> torch.nn.Module:
    """``model_class.from_config(cfg)`` on the meta device."""
    with torch.device("meta"):
        if model_class is AutoModel:
            return AutoModel.from_config(cfg)
        return model_class(cfg)


def numel(model: torch.nn.Module) -> int:
    """Parameters of a model, each shared tensor counted once (as ``parameters()`` does)."""
    return sum(p.numel() for p in model.parameters())
