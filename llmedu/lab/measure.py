"""The measurement table every method lab prints: quality, size, speed and memory of a model.

One call, :func:`measure`, returns for a classifier its accuracy and F1, its parameter count and
non-zero parameter count, its serialized size (``torch.save`` of the state dict, in MB and MiB),
its CPU latency per batch (median over repeated runs after a warm-up, with the interquartile
range as the spread, on 2 threads, with the libraries' own choices: :mod:`~llmedu.lab.native_timer`) and the peak memory of one inference batch
(weights plus the tensors the forward pass creates, counted by
:class:`~llmedu.lab.memory_meter.LiveTensorMeter`). :func:`compare` prints two measurements side
by side with their ratio, as MIT's efficient-ML labs do.

:func:`decode_rates` times language models' decoding the same way.

Timings vary from run to run and machine to machine: labs show them in cells exempt from nbval
and tests never assert them. Leaves out GPU timing and energy.
"""

from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from llmedu import checks, fmt, units
from llmedu.lab import native_timer
from llmedu.lab.memory_meter import LiveTensorMeter
from llmedu.lab.train import Batch, batches, evaluate


@dataclass(frozen=True)
class Measurement:
    """What :func:`measure` reports about one model (sizes in bytes, times in seconds)."""

    name: str
    accuracy: float
    f1: float
    parameters: int
    nonzero_parameters: int
    size_bytes: int
    latency_s: float
    latency_spread_s: float
    peak_memory_bytes: int


def count_parameters(model: torch.nn.Module) -> int:
    """All parameters of ``model`` (shared tensors once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def count_nonzero(model: torch.nn.Module) -> int:
    """Parameters of ``model`` that are not zero (after pruning, the ones that survived)."""
    return sum(int(torch.count_nonzero(p)) for p in {id(p): p for p in model.parameters()}.values())


def accuracy_standard_error(accuracy: float, n: int) -> float:
    """The standard error of an accuracy measured on ``n`` examples, :math:`\\sqrt{p(1-p)/n}`.

    How far another sample of the same size could move it: a difference between two models
    smaller than about twice this says little.

    >>> round(accuracy_standard_error(0.95, 1000), 4)
    0.0069
    """
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must be between 0 and 1, got {accuracy!r}")
    return math.sqrt(accuracy * (1 - accuracy) / checks.positive_int("n", n))


def serialized_size(model: torch.nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what the model takes on disk.

    >>> serialized_size(torch.nn.Linear(1000, 1000)) > 4 * 1000 * 1000
    True
    """
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def _forward(model: torch.nn.Module, batch: Batch) -> object:
    """One forward pass (a classifier or a bare encoder: its output is not used)."""
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])


#: The least time spent warming up before timing, in seconds (kernels compiled, caches and clocks settled).
WARMUP_SECONDS = 0.25


def call_times(call: Callable[[], object], repeats: int = 30, warmup: int = 5) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``call``, after untimed warm-up calls.

    The warm-up makes ``warmup`` calls, and more until :data:`WARMUP_SECONDS` have passed.
    """
    checks.positive_int("repeats", repeats)
    start = time.perf_counter()
    for _ in range(checks.nonnegative_int("warmup", warmup)):
        call()
    while warmup and time.perf_counter() - start < WARMUP_SECONDS:
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def latency(model: torch.nn.Module, batch: Batch, repeats: int = 30, warmup: int = 5) -> tuple[float, float]:
    """Median seconds per forward pass of ``batch`` and the interquartile range, without gradients.

    Timed with the libraries' own choices for this CPU (:mod:`llmedu.lab.native_timer`), not on
    the labs' numerical path, whose portable fp32 products would distort every speed-up.
    """
    model.eval()
    return _median_and_spread(native_timer.times("forward", model, batch, repeats=repeats, warmup=warmup))


def latencies(models: dict[str, torch.nn.Module], batch: Batch, rounds: int = 6,
              repeats: int = 10) -> dict[str, tuple[float, float]]:
    """:func:`latency` of several models, timed in turns: ``rounds`` rounds of ``repeats`` runs of
    each, so that a slow stretch of the machine (another process, the clock) falls on all of them
    rather than on whichever was being timed. For comparisons whose point is a small difference.
    """
    samples: dict[str, list[float]] = {label: [] for label in models}
    for _ in range(checks.positive_int("rounds", rounds)):
        for label, model in models.items():
            samples[label] += native_timer.times("forward", model.eval(), batch, repeats=repeats)
    return {label: _median_and_spread(times) for label, times in samples.items()}


def decode_rates(models: dict[str, torch.nn.Module], ids: torch.Tensor, steps: int = 12, rounds: int = 3,
                 repeats: int = 1, use_cache: bool = True) -> dict[str, float]:
    """Tokens per second that greedy decoding by each causal language model of ``models`` adds after
    the prompt ``ids`` (batch × prompt), all sequences of the batch together: ``steps`` tokens over
    the median time of generating ``steps + 1`` less the median time of generating 1 (the prompt's
    pass and the first token), with the libraries' own choices (:mod:`llmedu.lab.native_timer`).
    Timed in turns, as :func:`latencies` does: ``rounds`` rounds of ``repeats`` runs of each model,
    each after one warm-up run.
    """
    steps = checks.positive_int("steps", steps)
    first: dict[str, list[float]] = {label: [] for label in models}
    last: dict[str, list[float]] = {label: [] for label in models}
    for _ in range(checks.positive_int("rounds", rounds)):
        for label, model in models.items():
            one, all_steps = native_timer.sweep("generate", model.eval(), [(ids, 1, use_cache), (ids, steps + 1, use_cache)],
                                                repeats=repeats, warmup=1)
            first[label] += one
            last[label] += all_steps
    rates = {}
    for label in models:
        seconds = statistics.median(last[label]) - statistics.median(first[label])
        if seconds <= 0:
            raise RuntimeError(f"decoding {steps} more tokens with {label!r} took no longer than one: the timings are "
                               "too noisy to tell; time more steps or more rounds")
        rates[label] = ids.shape[0] * steps / seconds
    return rates


def _median_and_spread(times: list[float]) -> tuple[float, float]:
    """The median of ``times`` and their interquartile range."""
    quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return statistics.median(times), quartiles[2] - quartiles[0]


def state_bytes(model: torch.nn.Module) -> int:
    """Bytes of the tensors in ``model``'s state dict (weights and buffers, shared storage once)."""
    storages = {}
    for tensor in model.state_dict().values():
        if isinstance(tensor, torch.Tensor):
            storage = tensor.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def peak_inference_memory(model: torch.nn.Module, batch: Batch) -> int:
    """Weights plus the peak bytes of the tensors one forward pass of ``batch`` creates."""
    model.eval()
    with torch.inference_mode(), LiveTensorMeter() as meter:
        _forward(model, batch)
    return state_bytes(model) + meter.peak


def measure(model: torch.nn.Module, name: str, evaluation: Batch, timing_batch: Batch,
            repeats: int = 30) -> Measurement:
    """Measure ``model``: quality on ``evaluation``, latency and memory on ``timing_batch``."""
    quality = evaluate(model, evaluation)
    median, spread = latency(model, timing_batch, repeats=repeats)
    return Measurement(name=name, accuracy=quality["accuracy"], f1=quality["f1"],
                       parameters=count_parameters(model), nonzero_parameters=count_nonzero(model),
                       size_bytes=serialized_size(model), latency_s=median, latency_spread_s=spread,
                       peak_memory_bytes=peak_inference_memory(model, timing_batch))


def timing_batch(encoded: Batch, size: int = 32) -> Batch:
    """The first ``size`` examples of ``encoded`` as one batch, trimmed to its longest sentence."""
    return batches(encoded, checks.positive_int("size", size))[0]


#: Rows of the comparison: label, field, whether higher is better.
ROWS = (("accuracy", "accuracy", True), ("F1", "f1", True), ("parameters", "parameters", False),
        ("non-zero parameters", "nonzero_parameters", False), ("size on disk", "size_bytes", False),
        ("latency per batch", "latency_s", False), ("peak inference memory", "peak_memory_bytes", False))


def _show(field: str, value: float, spread: float | None = None) -> str:
    if field in ("accuracy", "f1"):
        return f"{value:.3f}"
    if field in ("size_bytes", "peak_memory_bytes"):
        return units.describe_size(value, decimals=3)
    if field == "latency_s":
        return f"{value * 1e3:.2f} ms ± {spread * 1e3:.2f}" if spread is not None else f"{value * 1e3:.2f} ms"
    return f"{int(value):,}"


def table(*measurements: Measurement) -> str:
    """The measurements side by side, one column per model (latency spread: interquartile range)."""
    if not measurements:
        raise ValueError("table needs at least one measurement")
    rows = [("", *(m.name for m in measurements))]
    for label, field, _ in ROWS:
        rows.append((label, *(_show(field, getattr(m, field), m.latency_spread_s if field == "latency_s" else None)
                               for m in measurements)))
    return fmt.table(rows)


def ratio(original: float, optimized: float, higher_is_better: bool) -> float:
    """How much better ``optimized`` is, as a factor above 1 (below 1: worse).

    >>> ratio(4_000_000, 1_000_000, higher_is_better=False)   # 4x smaller
    4.0
    >>> round(ratio(0.95, 0.931, higher_is_better=True), 3)  # keeps 98% of the accuracy
    0.98
    """
    top, bottom = (optimized, original) if higher_is_better else (original, optimized)
    return top / bottom if bottom else float("inf")


def compare(original: Measurement, optimized: Measurement) -> str:
    """Original / optimized / ratio (columns named after the models), one row per metric.

    A ratio above 1 means the optimized model is better in that row: smaller, faster, or more
    accurate.
    """
    rows = [("", original.name, optimized.name, "ratio")]
    for label, field, higher in ROWS:
        a, b = getattr(original, field), getattr(optimized, field)
        spread = (original.latency_spread_s, optimized.latency_spread_s) if field == "latency_s" else (None, None)
        rows.append((label, _show(field, a, spread[0]), _show(field, b, spread[1]), f"{ratio(a, b, higher):.2f}x"))
    return fmt.table(rows)
