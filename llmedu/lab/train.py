"""Training and evaluation of the labs' classifiers, seeded, with a cache of trained models.

:func:`train` is a plain PyTorch loop (AdamW, linear warm-up and decay, batches shuffled by a
seeded generator, each batch cut to its longest sentence). A custom ``loss_fn`` lets the
distillation lab train with a teacher through the same loop, and ``on_epoch`` lets a search
watch (and stop) a training. :func:`trained` returns a
model trained with a given configuration, from the on-disk cache when it has been trained
before (``$LLMEDU_CACHE``, default ``~/.cache/llmedu``), or from the models shipped with the
package (the labs' student and teacher, :data:`SHIPPED`); a missing or unreadable entry
retrains, it never fails.

Leaves out the search itself (:mod:`llmedu.lab.search`) and GPUs: everything runs on the CPU.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmedu import checks
from llmedu.lab import data, models, tokenizer
from llmedu.lab.scores import accuracy_f1

if TYPE_CHECKING:
    import torch

Batch = dict[str, "torch.Tensor"]
LossFn = Callable[["torch.Tensor", Batch], "torch.Tensor"]
EpochHook = Callable[[dict[str, float]], None]
#: Bump when the format or meaning of cached models changes.
CACHE_FORMAT = 4  # 4: the numerical path with a correctly rounded sqrt (3: MKL COMPATIBLE, oneDNN off)


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained. The defaults train the tiny BERT from scratch in seconds."""

    epochs: int = 4
    learning_rate: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        checks.positive_int("epochs", self.epochs)
        checks.positive_number("learning_rate", self.learning_rate)
        checks.positive_int("batch_size", self.batch_size)
        checks.nonnegative_int("seed", self.seed)
        if not 0 <= self.weight_decay or not 0 <= self.warmup < 1:
            raise ValueError("weight_decay must be >= 0 and warmup a fraction in [0, 1)")


#: The labs' two standard models: the shape and training of the student and of the teacher.
#: The 4-layer teacher of width 256, from scratch, needs a smaller learning rate than the tiny
#: one (at 1e-3 it did not learn) and more epochs.
STUDENT = ("tiny", TrainConfig())
TEACHER = ("mini", TrainConfig(epochs=6, learning_rate=7e-4, batch_size=64))


#: The tensors of a batch that run along the sentence (the others, labels or a teacher's logits, do not).
SEQUENCE_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def _trim(batch: Batch) -> Batch:
    """The batch cut to its longest sentence (padding beyond it changes nothing but time)."""
    length = int(batch["attention_mask"].sum(dim=1).max())
    return {k: (v[:, :length] if k in SEQUENCE_KEYS else v) for k, v in batch.items()}


def batches(encoded: Batch, batch_size: int, order: torch.Tensor | None = None) -> list[Batch]:
    """``encoded`` cut into batches (in ``order`` if given), each trimmed to its longest sentence."""
    import torch

    n = len(encoded["labels"])
    order = torch.arange(n) if order is None else order
    return [_trim({k: v[order[i:i + batch_size]] for k, v in encoded.items()}) for i in range(0, n, batch_size)]


def cross_entropy(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """The usual classification loss."""
    import torch.nn.functional as F

    return F.cross_entropy(logits, batch["labels"])


def logits_of(model: torch.nn.Module, encoded: Batch, batch_size: int = 256) -> torch.Tensor:
    """The model's logits for every example of ``encoded``, in order, without gradients.

    The examples go through in batches of similar length (shortest first), so that little of a
    batch is padding: about a third less work than in their own order, for logits that differ
    from that order's in the last bits only (and not at all from run to run).
    """
    import torch

    model.eval()
    by_length = torch.argsort(encoded["attention_mask"].sum(dim=1), stable=True)
    with torch.inference_mode():
        logits = torch.cat([model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
                            for b in batches(encoded, batch_size, by_length)])
    return logits[torch.argsort(by_length)]


def evaluate(model: torch.nn.Module, encoded: Batch, batch_size: int = 256) -> dict[str, float]:
    """Accuracy and F1 of the positive class (label 1) on ``encoded``."""
    predictions = logits_of(model, encoded, batch_size).argmax(dim=1)
    return accuracy_f1(predictions.tolist(), encoded["labels"].tolist())


def train(model: torch.nn.Module, train_data: Batch, config: TrainConfig = TrainConfig(),
          validation: Batch | None = None, loss_fn: LossFn = cross_entropy,
          progress: bool = True, on_epoch: EpochHook | None = None) -> list[dict[str, float]]:
    """Train ``model`` in place; return one record per epoch (mean loss, validation accuracy).

    ``on_epoch`` is called with each record as it is made; an exception it raises (a search
    stopping a hopeless trial) ends the training.

    The same model, data and ``config`` give the same weights in a fresh process on the same
    CPU with the same thread count.
    """
    import torch
    from tqdm.auto import tqdm

    n = len(train_data["labels"])
    steps = config.epochs * -(-n // config.batch_size)
    warmup = int(config.warmup * steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: (step + 1) / (warmup + 1) if step < warmup else max(0.0, (steps - step) / (steps - warmup)))
    shuffle = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)  # dropout
    history = []
    with tqdm(total=steps, disable=not progress, desc="training", unit="step", mininterval=2.0) as bar:
        for epoch in range(1, config.epochs + 1):
            model.train()
            losses = []
            for batch in batches(train_data, config.batch_size, torch.randperm(n, generator=shuffle)):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                loss = loss_fn(logits, batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                losses.append(loss.item())
                bar.update()
            record = {"epoch": epoch, "train_loss": math.fsum(losses) / len(losses)}  # fsum: the same on every Python
            if validation is not None:
                record["val_accuracy"] = evaluate(model, validation)["accuracy"]
            bar.set_postfix({k: round(v, 3) for k, v in record.items() if k != "epoch"})
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)
    model.eval()
    return history


#: Entries of the cache shipped inside the package, read-only: the labs' student and teacher
#: (:data:`STUDENT`, :data:`TEACHER`), trained on the numerical path by ``scripts/ship_models.py``,
#: so that a lab that needs them starts at once in a fresh runtime (Lab 1 trains them anew and
#: checks that its bits are these).
SHIPPED = Path(__file__).with_name("shipped")


def cache_dir() -> Path:
    """Where trained models are kept: ``$LLMEDU_CACHE``, else ``~/.cache/llmedu``."""
    return Path(os.environ.get("LLMEDU_CACHE") or Path.home() / ".cache" / "llmedu")


def cache_key(shape: str | models.Shape, config: TrainConfig, vocab: list[str], splits: dict[str, list[data.Example]]) -> str:
    """A name that changes whenever the shape, the training, the vocabulary or the data change."""
    shape = models.SHAPES[shape] if isinstance(shape, str) else shape
    content = json.dumps({"format": CACHE_FORMAT, "shape": asdict(shape), "config": asdict(config), "vocab": vocab,
                          "data": [[e.text, e.label] for part in ("train", "validation") for e in splits[part]]})
    return hashlib.sha256(content.encode()).hexdigest()[:20]


@dataclass
class Trained:
    """A trained model with its tokenizer, data, training history and where it came from."""

    model: torch.nn.Module
    tokenizer: object
    splits: dict[str, list[data.Example]]
    encoded: dict[str, Batch]
    history: list[dict[str, float]]
    #: "trained" (here and now), "cache" (trained before on this machine) or "shipped" (with llmedu).
    source: str

    @property
    def from_cache(self) -> bool:
        """Whether the model was loaded rather than trained."""
        return self.source != "trained"


def prepare_data(splits: dict[str, list[data.Example]] | None = None) -> tuple[object, dict[str, list[data.Example]], dict[str, Batch]]:
    """The labs' tokenizer, the fixed split and its encoded tensors."""
    tok = tokenizer.build_tokenizer()
    splits = data.load_splits() if splits is None else splits
    return tok, splits, {name: tokenizer.encode(tok, part) for name, part in splits.items()}


def entry_name(shape: str | models.Shape, config: TrainConfig, splits: dict[str, list[data.Example]] | None = None) -> str:
    """The name of a trained model's entry in the cache (and among the shipped models)."""
    splits = data.load_splits() if splits is None else splits
    return f"{shape if isinstance(shape, str) else 'custom'}-{cache_key(shape, config, tokenizer.load_vocab(), splits)}"


def load(folder: Path, model: torch.nn.Module) -> list[dict[str, float]]:
    """Read a cache entry written by :func:`save` into ``model``; return its training history."""
    import torch

    model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
    return json.loads((folder / "history.json").read_text(encoding="utf-8"))


def save(folder: Path, model: torch.nn.Module, history: list[dict[str, float]]) -> None:
    """Write a cache entry: the weights (``model.pt``) and the training history.

    Each file is written whole or not at all (:func:`llmedu.results.write_whole`), so that another
    process reading the entry (a second lab, a parallel test) never sees a part of one.
    """
    import torch

    from llmedu.results import write_whole

    folder.mkdir(parents=True, exist_ok=True)
    write_whole(folder / "model.pt", lambda file: torch.save(model.state_dict(), file))
    write_whole(folder / "history.json", lambda file: file.write(json.dumps(history).encode("utf-8")))


def trained(shape: str | models.Shape = "tiny", config: TrainConfig = TrainConfig(),
            progress: bool = True, use_cache: bool = True, use_shipped: bool = True) -> Trained:
    """A ``shape`` model trained on the fixed split with ``config``, loaded where possible.

    Looks in the cache (``use_cache``), then among the models shipped with the package
    (``use_shipped``, :data:`SHIPPED`), and trains only where neither has it; a model it trains
    goes into the cache.
    """
    tok, splits, encoded = prepare_data()
    name = entry_name(shape, config, splits)
    model = models.build_model(shape, len(tokenizer.load_vocab()), seed=config.seed)
    for source, folder in [("cache", cache_dir())] * use_cache + [("shipped", SHIPPED)] * use_shipped:
        try:
            history = load(folder / name, model)
            return Trained(model.eval(), tok, splits, encoded, history, source)
        except Exception:  # a missing or damaged entry: look further, or train
            model = models.build_model(shape, len(tokenizer.load_vocab()), seed=config.seed)
    history = train(model, encoded["train"], config, validation=encoded["validation"], progress=progress)
    if use_cache:
        save(cache_dir() / name, model, history)
    return Trained(model, tok, splits, encoded, history, "trained")


def same_as_shipped(model: torch.nn.Module, shape: str | models.Shape, config: TrainConfig) -> bool:
    """Whether ``model`` has, bit for bit, the weights of the shipped model trained with ``config``."""
    import torch

    shipped = models.build_model(shape, len(tokenizer.load_vocab()), seed=config.seed)
    try:
        load(SHIPPED / entry_name(shape, config), shipped)
    except FileNotFoundError:
        return False
    theirs = shipped.state_dict()
    return all(torch.equal(tensor, theirs[key]) for key, tensor in model.state_dict().items())
