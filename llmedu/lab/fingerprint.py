"""The fingerprint of the labs' numerical path: the bits that a short run of each library leaves.

:func:`measure` trains the tiny BERT for 30 AdamW steps (ATen, MKL; oneDNN where it is on), runs
the result quantized to dynamic int8 (FBGEMM), samples 40 trials with Optuna's TPE sampler
(NumPy) and fits the TF-IDF logistic regression of Lab 1 (OpenBLAS), and hashes what each
leaves: the weights, the logits, the chosen values, the coefficients. On the numerical path of
:mod:`llmedu.lab.runtime` every CPU must give the book's fingerprint, kept in
``llmedu/lab/fingerprint.json`` with the machine that recorded it. From the command line
(it must start its own process, since the path is set before torch loads)::

    python -m llmedu.lab.fingerprint            # this machine's fingerprint, and whether it is the book's
    python -m llmedu.lab.fingerprint --native   # the same work with the libraries' own choices
    python -m llmedu.lab.fingerprint --record   # make this machine's fingerprint the book's
    python -m llmedu.lab.fingerprint --ops > this-cpu.jsonl   # every operation of two training steps, hashed

Where two CPUs give different fingerprints, ``--ops`` on each (:func:`op_trace`) and a ``diff`` of
the two files name the first operation whose result differs. Another vendor's CPU can be emulated
on this one (Debian's ``qemu-user``; about fifteen times slower)::

    diff <(python -m llmedu.lab.fingerprint --ops) <(qemu-x86_64 -cpu EPYC-Milan $(which python) -m llmedu.lab.fingerprint --ops)

That is how ATen's square root (MKL's vector math) was found to differ between an Intel Xeon
and an AMD EPYC, and ``tests/test_runtime.py`` runs the same comparison.
Exit status 1 when the fingerprint differs from the book's. Leaves out the labs themselves
(nbval compares their outputs) and the time each part takes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

#: The book's fingerprint and the machine that recorded it.
BOOK = Path(__file__).with_name("fingerprint.json")
#: Reviews the training part sees: 30 steps of 32.
EXAMPLES = 960


def _digest(*arrays: Any) -> str:
    h = hashlib.sha256()
    for array in arrays:
        h.update(array.tobytes())
    return h.hexdigest()[:16]


def measure() -> dict[str, str]:
    """The hashes of each part's results (needs torch, transformers, scikit-learn and Optuna)."""
    import optuna

    from llmedu.lab import baselines, models, quantization, tokenizer, train

    _, splits, encoded = train.prepare_data()
    model = models.build_model("tiny", len(tokenizer.load_vocab()), seed=0)
    subset = {key: value[:EXAMPLES] for key, value in encoded["train"].items()}
    train.train(model, subset, train.TrainConfig(epochs=1), progress=False)
    weights = [tensor.numpy() for _, tensor in sorted(model.state_dict().items())]
    int8 = quantization.dynamic_int8(model)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0), direction="maximize")
    study.optimize(lambda t: -(t.suggest_float("lr", 1e-5, 1e-1, log=True) - 1e-3) ** 2 * 1e6
                   + t.suggest_int("batch", 8, 128) / 1e3, n_trials=40)
    tfidf = baselines.fit_tfidf(splits["train"])[-1]
    return {
        "training": _digest(*weights),
        "fp32_logits": _digest(train.logits_of(model, encoded["validation"]).numpy()),
        "int8_logits": _digest(train.logits_of(int8, encoded["validation"]).numpy()),
        "tpe": hashlib.sha256(json.dumps([t.params for t in study.trials]).encode()).hexdigest()[:16],
        "tfidf": _digest(tfidf.coef_, tfidf.intercept_),
    }


def op_trace(steps: int = 2) -> list[tuple[str, str]]:
    """Each torch operation of building the fingerprint's model and training it ``steps`` steps, with
    a digest of what it returned, in order: the first line that differs between two CPUs is the
    operation whose kernel they run differently."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    from llmedu.lab import models, tokenizer, train

    _, _, encoded = train.prepare_data()
    subset = {key: value[:32 * steps] for key, value in encoded["train"].items()}
    trace: list[tuple[str, str]] = []

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            out = func(*args, **(kwargs or {}))
            if "empty" not in str(func):  # uninitialized memory: nothing to compare
                tensors = [t.detach().contiguous().numpy() for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
                trace.append((str(func), _digest(*tensors)))
            return out

    with Recorder():
        model = models.build_model("tiny", len(tokenizer.load_vocab()), seed=0)
        train.train(model, subset, train.TrainConfig(epochs=1), progress=False)
    return trace


def book() -> dict[str, Any]:
    """The book's fingerprint (``fingerprint``) and where it was recorded (``produced_on``)."""
    return json.loads(BOOK.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmedu.lab.fingerprint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--native", action="store_true", help="leave the libraries' own choices (off the path)")
    parser.add_argument("--record", action="store_true", help="write this machine's fingerprint as the book's")
    parser.add_argument("--ops", action="store_true", help="print every operation of two training steps, hashed")
    args = parser.parse_args(argv)
    from llmedu.lab import runtime

    if args.native:
        import torch

        torch.set_num_threads(runtime.THREADS)
        runtime.deterministic(True)
    else:
        runtime.setup()
    if args.ops:
        print(json.dumps(runtime.provenance(), sort_keys=True))
        for number, (operation, digest) in enumerate(op_trace()):
            print(f"{number:5} {operation} {digest}")
        return 0
    measured = {"fingerprint": measure(), "produced_on": runtime.provenance()}
    if args.record:
        if args.native or not measured["produced_on"]["on_path"]:
            parser.error("only a fingerprint made on the numerical path can be the book's")
        BOOK.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    same = BOOK.is_file() and measured["fingerprint"] == book()["fingerprint"]
    print(json.dumps({**measured, "same_as_book": same}, indent=2, sort_keys=True))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
