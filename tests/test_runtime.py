"""The labs' numerical path (llmedu.lab.runtime): the same bits whatever the CPU would choose.

Another CPU changes what the libraries choose: ATen's instruction set, MKL's branch, oneDNN's and
FBGEMM's kernels, NumPy's SIMD loops, OpenBLAS's core type, the number of cores. Those choices
can be forced on this machine, so these tests provoke them in fresh processes and require the
book's fingerprint (``llmedu/lab/fingerprint.json``, with the machine that recorded it) every time;
a control shows that the same choices do change the bits off the path, so the test can fail.
Another vendor's CPU is emulated: under QEMU's user mode (Debian's qemu-user) the libraries see
the other vendor's name and a CPU without AVX-512, and choose their code for it, while QEMU
does the arithmetic itself (its approximate reciprocals are not any real CPU's, so a kernel that
relies on them shows up too); every operation of two training steps must give this machine's
bits. Also checked: a process that loaded the libraries first is refused with a clear message,
and every lab and results file says it was made on the path.
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
#: QEMU's user-mode emulator (7.2 or later: AVX2 and FMA), if installed.
QEMU = shutil.which("qemu-x86_64")
#: The CPU QEMU shows the program: the other vendor's, with AVX2 and FMA and without AVX-512.
EMULATED_CPU = ("-cpu", "Haswell-v4" if runtime._cpuinfo("vendor_id") == "AuthenticAMD" else "EPYC-Milan")
#: Fixed values and MKL's square root of them, as ATen's sqrt computed it before the path replaced it.
VML_SQRT = ("import hashlib, json, torch\nx = torch.linspace(1e-7, 1e-5, 100_000)\n"
            "print(json.dumps([hashlib.sha256(t.numpy().tobytes()).hexdigest() for t in (x, torch.sqrt(x))]))")


def _qemu_version() -> tuple[int, ...]:
    if QEMU is None:
        return (0,)
    first = subprocess.run([QEMU, "--version"], capture_output=True, text=True, timeout=60).stdout.split()
    return tuple(int(part) for part in first[2].split(".")[:2]) if len(first) > 2 else (0,)


needs_qemu = pytest.mark.skipif(_qemu_version() < (7, 2), reason="needs qemu-x86_64 7.2 or later (Debian: "
                                "qemu-user; scripts/setup.sh installs it)")


def _clean_env() -> dict[str, str]:
    """This process's environment without the path's variables, as a reader's fresh shell has it."""
    return {k: v for k, v in os.environ.items() if k not in runtime.PINNED_ENV and k not in runtime.OTHER_CPU_ENV}


def _run(prefix: tuple[str, ...], *args: str, env: dict[str, str] | None = None, exits: tuple[int, ...] = (0,)) -> str:
    """The standard output of this Python, run with ``args`` (under ``prefix``) in a fresh process
    with ``env`` added to a reader's environment; it must exit with one of ``exits``."""
    result = subprocess.run([*prefix, sys.executable, *args], capture_output=True, text=True,
                            env={**_clean_env(), **(env or {})}, cwd=ROOT, timeout=900)
    assert result.returncode in exits, result.stderr[-3000:]
    return result.stdout


def _fingerprint(env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()) -> dict[str, str]:
    """The fingerprint measured in a fresh process with ``env`` added to this one's (exit 1: not the book's)."""
    return json.loads(_run(prefix, "-m", "llmedu.lab.fingerprint", *args, env=env, exits=(0, 1)))["fingerprint"]


@pytest.mark.parametrize("choice", CHOICES, ids=list(CHOICES))
def test_the_path_gives_the_books_bits_whatever_the_cpu_chooses(choice: str) -> None:
    assert _fingerprint(CHOICES[choice]) == fingerprint.book()["fingerprint"], (
        f"under {choice}, the labs' numerical path gives other bits than the book's "
        f"(recorded on {fingerprint.book()['produced_on']['cpu']})")


@pytest.mark.skipif(not shutil.which("taskset") or len(os.sched_getaffinity(0)) < 2, reason="needs taskset and 2 cores")
def test_the_path_gives_the_books_bits_on_one_core() -> None:
    one_core = ("taskset", "-c", str(min(os.sched_getaffinity(0))))
    assert _fingerprint({}, prefix=one_core) == fingerprint.book()["fingerprint"]


@needs_qemu
def test_every_operation_of_training_gives_the_same_bits_on_the_other_vendors_emulated_cpu() -> None:
    native = _run((), "-m", "llmedu.lab.fingerprint", "--ops").splitlines()[1:]
    emulated = _run((QEMU, *EMULATED_CPU), "-m", "llmedu.lab.fingerprint", "--ops").splitlines()[1:]
    assert len(native) == len(emulated) > 1000
    differing = [f"{mine}  (emulated: {theirs.split()[-1]})"
                 for mine, theirs in zip(native, emulated) if mine != theirs]
    assert not differing, f"{len(differing)} operations differ on the emulated CPU, the first: {differing[0]}"


@needs_qemu
def test_the_emulated_cpu_changes_what_mkl_computes_off_the_path() -> None:
    """The control: MKL's square root, which the path replaced, gives other bits there (the
    path's settings and the same inputs, so only that kernel can differ)."""
    native = json.loads(_run((), "-c", VML_SQRT, env=runtime.PINNED_ENV))
    emulated = json.loads(_run((QEMU, *EMULATED_CPU), "-c", VML_SQRT, env=runtime.PINNED_ENV))
    assert native[0] == emulated[0], "the inputs differ"
    assert native[1] != emulated[1], "the emulated CPU computed MKL's square root as this one does"


def test_off_the_path_the_same_choices_change_the_bits() -> None:
    """The control: the provoked choices are real, so the tests above can fail."""
    native = _fingerprint({}, "--native")
    other_cpu = _fingerprint(runtime.OTHER_CPU_ENV, "--native")
    other_aten = _fingerprint({"ATEN_CPU_CAPABILITY": "default"}, "--native")
    assert native["training"] != other_cpu["training"], "oneDNN's and MKL's code paths did not change training"
    assert native["training"] != other_aten["training"], "ATen's instruction set did not change training"


def test_problems_names_each_departure_from_the_path() -> None:
    assert runtime.problems(dict(runtime.EXPECTED)) == []
    found = runtime.problems({**runtime.EXPECTED, "aten_capability": "AVX512", "sqrt": "MKL VML", "onednn": True,
                              "threads": 8})
    assert found == ["ATen runs its 'AVX512' kernels, the path needs 'AVX2'",
                     "ATen's sqrt runs MKL VML, the path needs it correctly rounded",
                     "oneDNN is on, the path needs it off",
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
    code = ("from llmedu.lab import runtime\nruntime.setup()\nprint(runtime.problems())\nprint(runtime.summary())\n"
            "import sys, torch\nprint(torch.are_deterministic_algorithms_enabled(), 'torch._inductor' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    # deterministic algorithms on, without loading torch.compile's Inductor (a second per process)
    assert result.stdout.splitlines() == ["[]", runtime.summary({**runtime.EXPECTED}), "True False"], \
        result.stdout + result.stderr


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
