"""The labs' numerical path (llmedu.lab.runtime): the same bits whatever the CPU would choose.

Another CPU changes what the libraries choose: ATen's instruction set, MKL's branch, oneDNN's and
FBGEMM's kernels, NumPy's SIMD loops, OpenBLAS's core type, the number of cores. Those choices
can be forced on this machine, so these tests provoke them in fresh processes and require the
book's fingerprint (``llmedu/lab/fingerprint.json``, recorded on another machine) every time;
a control shows that the same choices do change the bits off the path, so the test can fail.
Also checked: a process that loaded the libraries first is refused with a clear message, and
every lab and results file says it was made on the path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmedu.lab import fingerprint, runtime

ROOT = Path(__file__).resolve().parent.parent
#: What another CPU would choose, forced here; the pinned variables are set too, to show the path overrides them.
CHOICES = {
    "this machine's own choices": {},
    "another CPU's oneDNN, MKL and FBGEMM": runtime.OTHER_CPU_ENV,
    "a reader's conflicting settings": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "AUTO",
                                        "NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_CORETYPE": "Nehalem"},
}


def _fingerprint(env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()) -> dict[str, str]:
    """The fingerprint measured in a fresh process with ``env`` added to this one's."""
    clean = {k: v for k, v in os.environ.items() if k not in runtime.PINNED_ENV and k not in runtime.OTHER_CPU_ENV}
    result = subprocess.run([*prefix, sys.executable, "-m", "llmedu.lab.fingerprint", *args], capture_output=True,
                            text=True, env={**clean, **env}, cwd=ROOT, timeout=600)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return json.loads(result.stdout)["fingerprint"]


@pytest.mark.parametrize("choice", CHOICES, ids=list(CHOICES))
def test_the_path_gives_the_books_bits_whatever_the_cpu_chooses(choice: str) -> None:
    assert _fingerprint(CHOICES[choice]) == fingerprint.book()["fingerprint"], (
        f"under {choice}, the labs' numerical path gives other bits than the book's "
        f"(recorded on {fingerprint.book()['produced_on']['cpu']})")


@pytest.mark.skipif(not shutil.which("taskset") or len(os.sched_getaffinity(0)) < 2, reason="needs taskset and 2 cores")
def test_the_path_gives_the_books_bits_on_one_core() -> None:
    one_core = ("taskset", "-c", str(min(os.sched_getaffinity(0))))
    assert _fingerprint({}, prefix=one_core) == fingerprint.book()["fingerprint"]


def test_off_the_path_the_same_choices_change_the_bits() -> None:
    """The control: the provoked choices are real, so the tests above can fail."""
    native = _fingerprint({}, "--native")
    other_cpu = _fingerprint(runtime.OTHER_CPU_ENV, "--native")
    other_aten = _fingerprint({"ATEN_CPU_CAPABILITY": "default"}, "--native")
    assert native["training"] != other_cpu["training"], "oneDNN's and MKL's code paths did not change training"
    assert native["training"] != other_aten["training"], "ATen's instruction set did not change training"


def test_problems_names_each_departure_from_the_path() -> None:
    assert runtime.problems(dict(runtime.EXPECTED)) == []
    found = runtime.problems({**runtime.EXPECTED, "aten_capability": "AVX512", "onednn": True, "threads": 8})
    assert found == ["ATen runs its 'AVX512' kernels, the path needs 'AVX2'", "oneDNN is on, the path needs it off",
                     "torch uses 8 threads, the path needs 2"]
    assert runtime.problems({**runtime.EXPECTED, "threads": 4}, threads=4) == []


def test_setup_refuses_a_process_that_used_torch_and_numpy_first() -> None:
    code = ("import numpy, torch\n(torch.ones(64, 64) @ torch.ones(64, 64)).sum()\n"
            "from llmedu.lab import runtime\nruntime.setup()\n")
    clean = {k: v for k, v in os.environ.items() if k not in runtime.PINNED_ENV}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=300)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: The labs' numerical path is not in place (torch and numpy imported before")
    assert "MKL runs its 'OFF' branch" in last and "Restart the kernel" in last, last


def test_setup_puts_a_fresh_process_on_the_path() -> None:
    code = "from llmedu.lab import runtime\nruntime.setup()\nprint(runtime.problems())\nprint(runtime.summary())\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.splitlines() == ["[]", runtime.summary({**runtime.EXPECTED})], result.stdout + result.stderr


def _on_path(produced_on: dict, where: str) -> None:
    assert produced_on["on_path"], f"{where} was made off the numerical path: {produced_on['numerical_path']}"
    for key, expected in runtime.EXPECTED.items():
        assert produced_on["numerical_path"][key] == expected, f"{where}: {key} is {produced_on['numerical_path'][key]!r}"


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_lab_was_recorded_on_the_path(notebook: Path) -> None:
    metadata = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]
    assert "llmedu" in metadata, f"{notebook.name} was not executed by scripts/execute_notebooks.py"
    _on_path(metadata["llmedu"]["produced_on"], notebook.name)


def test_every_results_file_says_where_it_was_made() -> None:
    for path in sorted((ROOT / "notebooks" / "results").glob("*.json")):
        if path.name == "colab_times.json":  # written by scripts/colab_check.sh, not by a lab
            continue
        _on_path(json.loads(path.read_text(encoding="utf-8"))["produced_on"], path.name)


def test_the_operation_trace_is_the_same_twice_and_starts_with_the_models_initialization() -> None:
    """The trace that names where two CPUs part ways must not vary on one CPU."""
    first, second = fingerprint.op_trace(steps=1), fingerprint.op_trace(steps=1)
    assert first == second
    assert first[0][0] == "aten.normal_.default" and any(op == "aten.addcdiv_.default" for op, _ in first)
