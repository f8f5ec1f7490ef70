"""The labs' data: generated movie-review sentences whose label depends on word order.

No small labelled text set with a redistributable license ships on the package registries the
book may use, and nothing may be downloaded at run time, so the labs generate their data. The
generator is seeded and built so that a bag of words cannot solve it but a transformer can:

* **negation**: "the plot was not bad" is positive; "the plot did not feel fresh" is negative;
* **contrast**: in "A but B" and "although A, B" the clause B decides, so swapping the clauses
  flips the label while keeping exactly the same words;
* **intensifiers** and fillers ("really", "honestly", "to be fair") that change nothing;
* **label noise**: a small, seeded share of labels is flipped, so accuracy has a ceiling
  below 100% and curves have room to move.

Labels: 1 is positive, 0 is negative. The split is fixed: :func:`load_splits` always returns
the same train/validation/test sentences, without overlap. The test split is for final numbers
only. Leaves out tokenization (:mod:`llmedu.lab.tokenizer`) and batching.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from llmedu import checks

SUBJECTS = ("the movie", "the film", "the plot", "the acting", "the cast", "the script", "the music",
            "the ending", "the story", "the dialogue", "the director", "the camera work")
POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "funny", "beautiful", "clever",
            "charming", "moving", "fresh", "enjoyable")
NEGATIVE = ("bad", "boring", "awful", "terrible", "dull", "weak", "slow", "predictable", "silly",
            "forgettable", "messy", "painful")
INTENSIFIERS = ("very", "really", "truly", "quite", "extremely", "pretty")
VERBS = ("was", "is", "felt", "seemed")
NEGATED_VERBS = ("was not", "is not", "did not feel", "did not seem", "was never", "is never")
OPENERS = ("honestly,", "overall,", "to be fair,", "in the end,", "i think")

#: Share of labels flipped at random (after the true label is decided).
LABEL_NOISE = 0.05
#: Sizes of the fixed split.
SPLIT_SIZES = {"train": 4000, "validation": 1000, "test": 1000}
#: The seed of the fixed split.
SPLIT_SEED = 2026


@dataclass(frozen=True)
class Example:
    """One review: its text, its label (1 positive, 0 negative) and the rule that set it."""

    text: str
    label: int
    kind: str


def _clause(rng: random.Random) -> tuple[str, int]:
    """A clause and its polarity (1 or 0): subject, verb, optional negation and intensifier."""
    positive = rng.random() < 0.5
    adjective = rng.choice(POSITIVE if positive else NEGATIVE)
    negated = rng.random() < 0.4
    words = [rng.choice(SUBJECTS), rng.choice(NEGATED_VERBS if negated else VERBS)]
    if rng.random() < 0.4:
        words.append(rng.choice(INTENSIFIERS))
    words.append(adjective)
    return " ".join(words), int(positive != negated)


def generate_example(rng: random.Random) -> Example:
    """One review drawn with ``rng``: a single clause, "A but B", "although A, B" or "A and B"."""
    form = rng.random()
    first, first_label = _clause(rng)
    if form < 0.35:
        text, label, kind = first, first_label, "single"
    else:
        second, second_label = _clause(rng)
        while second_label == first_label and form < 0.85:  # contrast needs opposite clauses
            second, second_label = _clause(rng)
        if form < 0.6:
            text, label, kind = f"{first}, but {second}", second_label, "but"
        elif form < 0.85:
            text, label, kind = f"although {first}, {second}", second_label, "although"
        else:
            while second_label != first_label:  # "A and B" only joins clauses that agree
                second, second_label = _clause(rng)
            text, label, kind = f"{first} and {second}", first_label, "and"
    if rng.random() < 0.25:
        text = f"{rng.choice(OPENERS)} {text}"
    if rng.random() < LABEL_NOISE:
        label = 1 - label
    return Example(text=text, label=label, kind=kind)


def generate(n: int, seed: int) -> list[Example]:
    """``n`` distinct reviews, the same for the same ``seed``.

    >>> [e.label for e in generate(5, seed=0)] == [e.label for e in generate(5, seed=0)]
    True
    >>> len({e.text for e in generate(300, seed=1)})
    300
    """
    n = checks.positive_int("n", n)
    rng = random.Random(checks.nonnegative_int("seed", seed))
    examples: dict[str, Example] = {}
    while len(examples) < n:
        example = generate_example(rng)
        examples.setdefault(example.text, example)
    return list(examples.values())


def load_splits(sizes: dict[str, int] | None = None, seed: int = SPLIT_SEED) -> dict[str, list[Example]]:
    """The fixed train/validation/test split (distinct sentences, no overlap between splits).

    >>> splits = load_splits({"train": 8, "validation": 2, "test": 2})
    >>> {name: len(part) for name, part in splits.items()}
    {'train': 8, 'validation': 2, 'test': 2}
    """
    sizes = dict(SPLIT_SIZES if sizes is None else sizes)
    for name in SPLIT_SIZES:
        if name not in sizes:
            raise ValueError(f"sizes must name every split {tuple(SPLIT_SIZES)}, missing {name!r}")
        checks.positive_int(f"sizes[{name!r}]", sizes[name])
    examples = generate(sum(sizes[name] for name in SPLIT_SIZES), seed)
    splits, start = {}, 0
    for name in SPLIT_SIZES:
        splits[name] = examples[start:start + sizes[name]]
        start += sizes[name]
    return splits


def words() -> list[str]:
    """Every word and punctuation mark the generator can write, sorted (for the tokenizer)."""
    phrases = SUBJECTS + POSITIVE + NEGATIVE + INTENSIFIERS + VERBS + NEGATED_VERBS + OPENERS + ("but", "although", "and", ",")
    return sorted({word for phrase in phrases for word in phrase.replace(",", " , ").split()})
