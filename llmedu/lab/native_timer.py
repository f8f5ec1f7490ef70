"""Timings with the libraries' own choices, taken in a worker process off the numerical path.

The labs compute on the numerical path of :mod:`llmedu.lab.runtime`, which trades speed for the
same bits on every CPU: MKL multiplies fp32 matrices in its portable branch (no AVX, no FMA) and
oneDNN is off, while FBGEMM's int8 kernels keep their speed. Timed there, fp32 would look slower
than it is, and int8 faster than fp32 where it is slower (measured on the tiny BERT, batch 32:
2.5 times faster on the path, 0.55 times off it). So a process on the path times its models
here: one worker process, started on the first request without the path's settings, runs them
with the libraries' own choices for this CPU on the labs' 2 threads, as a deployment would.
Models and inputs reach it through ``torch.save`` in a temporary folder; its output goes to a
log file there, never into a notebook. A process off the path (``scripts/benchmark.py``) times
in-process, with the same choices.

Run as ``python -m llmedu.lab.native_timer``, it is the worker: one JSON line per request on
stdin, one per answer on stdout. Leaves out what is timed and how times are summarised
(:mod:`llmedu.lab.measure`).
"""

from __future__ import annotations

import atexit
import copyreg
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmedu.lab import runtime

#: What the worker can time, by name: each takes the job's arguments (tensors and models).
OPERATIONS: dict[str, Callable[..., object]] = {
    "forward": lambda model, batch: model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]),
    "matmul_transposed": lambda a, b: a @ b.T,
    # Greedy decoding of new_tokens tokens after ids (batch × prompt), with or without the KV cache.
    "generate": lambda model, ids, new_tokens, use_cache=True: model.generate(
        ids, attention_mask=ids.new_ones(ids.shape), do_sample=False, max_new_tokens=new_tokens,
        min_new_tokens=new_tokens, use_cache=use_cache, pad_token_id=0),
    # The same with a draft model proposing lookahead tokens (transformers' assisted generation).
    "assisted_generate": lambda model, draft, ids, new_tokens, lookahead: model.generate(
        ids, attention_mask=ids.new_ones(ids.shape), do_sample=False, max_new_tokens=new_tokens,
        min_new_tokens=new_tokens, pad_token_id=0, assistant_model=draft, num_assistant_tokens=lookahead,
        num_assistant_tokens_schedule="constant", assistant_confidence_threshold=0.0),
    # The sum of a large tensor: reads each of its bytes once and computes little (memory bandwidth).
    "read": lambda tensor: tensor.sum(),
}


def _bound_method(function: Callable[..., object], owner: object) -> object:
    return types.MethodType(function, owner)


class _Pickler(pickle.Pickler):
    """pickle's, plus methods bound to an object by assignment (torchao gives quantized layers a
    ``functools.partial`` as ``extra_repr``, which plain pickle cannot name)."""

    dispatch_table = {**copyreg.dispatch_table,
                      types.MethodType: lambda method: (_bound_method, (method.__func__, method.__self__))}


#: What ``torch.save`` pickles a job with (its ``pickle_module``).
_PICKLE = types.SimpleNamespace(Pickler=_Pickler, Unpickler=pickle.Unpickler, load=pickle.load, dump=pickle.dump,
                                HIGHEST_PROTOCOL=pickle.HIGHEST_PROTOCOL, __name__="pickle")


def _run(operation: str, arguments: tuple, repeats: int, warmup: int) -> list[float]:
    import torch

    from llmedu.lab.measure import call_times

    call = OPERATIONS[operation]
    with torch.inference_mode():
        return call_times(lambda: call(*arguments), repeats, warmup)


class _Worker:
    """The worker process, its temporary folder and its log."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="llmedu-timer-"))
        self.log = self.folder / "worker.log"
        env = {key: value for key, value in os.environ.items()
               if key not in runtime.PINNED_ENV and key not in runtime.OTHER_CPU_ENV}
        with self.log.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=log, env=env, text=True)
        atexit.register(self.close)

    def times(self, request: dict[str, Any]) -> Any:
        import torch

        job = self.folder / "job.pt"
        torch.save(request, job, pickle_module=_PICKLE)
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps({"job": str(job)}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise RuntimeError(f"the timing process stopped; its log ends with:\n{self.log.read_text()[-2000:]}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the timing process could not time {request['operation']}: {answer['error']}")
        return answer["times"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


_worker: _Worker | None = None


def times(operation: str, *arguments: Any, repeats: int = 30, warmup: int = 5) -> list[float]:
    """Seconds of each of ``repeats`` runs of ``OPERATIONS[operation](*arguments)``, after ``warmup``.

    In the worker process when this process is on the numerical path, else here.
    """
    return _request({"operation": operation, "shared": (), "cases": [arguments], "repeats": repeats, "warmup": warmup})[0]


def sweep(operation: str, shared: Any, cases: list[tuple], repeats: int = 30, warmup: int = 5) -> list[list[float]]:
    """:func:`times` of ``OPERATIONS[operation](shared, *case)`` for each of ``cases``.

    ``shared`` (a model) goes to the worker once for all cases.
    """
    return _request({"operation": operation, "shared": (shared,), "cases": [tuple(case) for case in cases],
                     "repeats": repeats, "warmup": warmup})


def _request(request: dict[str, Any]) -> list[list[float]]:
    global _worker
    if request["operation"] not in OPERATIONS:
        raise ValueError(f"operation must be one of {sorted(OPERATIONS)}, got {request['operation']!r}")
    if not runtime.is_set_up():
        return _answer(request)
    if _worker is None or _worker.process.poll() is not None:
        _worker = _Worker()
    return _worker.times(request)


def _answer(request: dict[str, Any]) -> list[list[float]]:
    return [_run(request["operation"], (*request["shared"], *case), request["repeats"], request["warmup"])
            for case in request["cases"]]


def serve() -> None:
    """The worker: answer each request line on stdin with the times, or the error, on stdout.

    It ends when its stdin closes (the lab's process ended), and ignores Ctrl-C and Jupyter's
    interrupt, which are meant for the lab.
    """
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(runtime.THREADS)
    for line in sys.stdin:
        try:
            answer = {"times": _answer(torch.load(json.loads(line)["job"], weights_only=False))}
        except Exception as error:  # reported to the lab, which raises it
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    serve()
