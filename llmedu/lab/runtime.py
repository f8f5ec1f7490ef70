"""The labs' numerical path, the same on every x86-64 CPU; threads, seeds and quiet libraries.

Why a path: each numerical library picks its code for the CPU it finds, and the picks differ in
the last bits of their results. ATen (torch's own kernels) runs its AVX-512 build where it can;
MKL (torch's matrix products) takes a code branch by vendor and instruction set, and ignores
``MKL_CBWR=AVX2`` on AMD CPUs; oneDNN (torch's GELU) compiles its kernels for the CPU at run
time; NumPy's SIMD loops (inside Optuna's sampler) and OpenBLAS (inside scikit-learn) dispatch
too. Training turns last bits into different accuracies (0.759 against 0.843 after two epochs,
measured between an Intel and an AMD machine), so the labs fix every choice:

* ATen at its AVX2 build (``ATEN_CPU_CAPABILITY=avx2``): the same instructions on every CPU
  with AVX2, and none whose result depends on the vendor (no ``rcpps``/``rsqrtps``);
* MKL at its ``COMPATIBLE`` branch, the one its makers keep identical on Intel and non-Intel
  CPUs, with a fixed thread count (``MKL_DYNAMIC=FALSE``);
* ATen's ``sqrt`` correctly rounded (:mod:`llmedu.lab.exact_sqrt`): ATen hands it to MKL's vector
  math, whose last bit depends on the CPU whatever the branch, and AdamW takes it every step;
* oneDNN switched off (``torch.backends.mkldnn.enabled = False``): ATen computes the GELU;
* NumPy at its baseline instructions (``NPY_DISABLE_CPU_FEATURES``), OpenBLAS at one core type;
* two threads everywhere (Colab's free CPU and the book's CI machine have two cores).

FBGEMM (dynamic int8) is left free: its integer products are exact, and its results were
bit-identical under its AVX2 and AVX-512 builds. :func:`setup`, the first line of every lab,
puts the path in place; the environment part must precede the first import of torch and NumPy,
so :func:`setup` refuses (with a message that says to restart) a process that imported them
first. :func:`state` reads back what the running process actually uses (from torch, MKL, NumPy
and OpenBLAS themselves), :func:`problems` lists where it leaves the path, and
:func:`provenance` is what results files and notebooks record. :data:`OTHER_CPU_ENV` makes the
choices of another CPU on this one, for tests that show the path does not depend on them.
Timings are not numbers of the path: :mod:`llmedu.lab.native_timer` takes them off it.

Costs about a third more time than torch's own choices. Leaves out GPUs, and CPUs without AVX2
and FMA (Intel before 2013, AMD before 2015), where the labs run with a warning but cannot
promise the book's numbers.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import random
import sys
import warnings
from pathlib import Path
from typing import Any

from llmedu import checks

#: The labs' thread count: Colab's free CPU and the book's CI machine both have 2 cores.
THREADS = 2
#: NumPy's dispatched instruction sets above its baseline (x86-64-v2), switched off by name.
NUMPY_DISPATCH = ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR")
#: The environment of the labs' numerical path; read by the libraries when they load.
PINNED_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "MKL_DYNAMIC": "FALSE",
    "OMP_DYNAMIC": "FALSE",
    "NPY_DISABLE_CPU_FEATURES": " ".join(NUMPY_DISPATCH),
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": str(THREADS),
}
#: Choices that another CPU would make, forced on this one: oneDNN and MKL capped at older
#: instruction sets, FBGEMM at AVX2. Outside the path they change the bits; on it they must not.
OTHER_CPU_ENV = {
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2",
}
#: The CPU features that decide which code the libraries would choose (as /proc/cpuinfo names them).
CPU_FEATURES = {"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"}
#: What :func:`state` must read back for each setting of the path.
EXPECTED = {"aten_capability": "AVX2", "mkl_branch": "COMPATIBLE", "sqrt": "exact", "onednn": False,
            "numpy_simd": [], "openblas": "Haswell", "threads": THREADS}
#: MKL's numbers for its code branches (mkl_service.h), as ``mkl_cbwr_get`` returns them.
_MKL_BRANCHES = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1",
                 8: "SSE4_2", 9: "AVX", 10: "AVX2", 12: "AVX512", 13: "AVX512_E1"}
_set_up = False
_RESTART = ("Restart the kernel (in Colab: Runtime > Restart session) and run the lab's cells from "
            "the top: runtime.setup() must run before anything imports torch or NumPy.")


def pin_environment() -> None:
    """Put :data:`PINNED_ENV` into ``os.environ``, replacing other values of those variables.

    Takes effect for libraries loaded afterwards, in this process and in the processes it starts.
    """
    os.environ.update(PINNED_ENV)


def _cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in /proc/cpuinfo (Linux), or None."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's name as the operating system reports it (Linux: ``model name`` in /proc/cpuinfo)."""
    return _cpuinfo("model name") or platform.processor() or platform.machine() or "unknown"


def _cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere)."""
    return set((_cpuinfo("flags") or "").split())


def _mkl_branch() -> str | None:
    """MKL's code branch as MKL reports it, or None where torch's library does not expose MKL."""
    import torch

    try:
        library = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"))
        get = library.mkl_serv_cbwr_get
    except (OSError, AttributeError):
        return None
    get.argtypes, get.restype = [ctypes.c_int], ctypes.c_int
    branch = get(1)  # MKL_CBWR_BRANCH
    return _MKL_BRANCHES.get(branch, str(branch))


def _openblas_core() -> str | None:
    """The core type OpenBLAS (NumPy's BLAS) runs, from threadpoolctl where it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    cores = {info.get("architecture") for info in threadpool_info() if info.get("internal_api") == "openblas"}
    return cores.pop() if len(cores) == 1 else None


def state() -> dict[str, Any]:
    """What this process's libraries actually use, read back from them (imports torch and NumPy)."""
    import numpy
    import torch

    from llmedu.lab import exact_sqrt

    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    return {
        "cpu": cpu_model(),
        "cpu_features": sorted(_cpu_flags() & CPU_FEATURES),
        "aten_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl_branch": _mkl_branch(),
        "sqrt": "exact" if exact_sqrt.installed() else "MKL VML",
        "onednn": bool(torch.backends.mkldnn.enabled),
        "numpy_simd": sorted(name for name in umath.__cpu_dispatch__ if umath.__cpu_features__.get(name)),
        "openblas": _openblas_core(),
        "threads": torch.get_num_threads(),
    }


def problems(current: dict[str, Any] | None = None, threads: int = THREADS) -> list[str]:
    """Where ``current`` (default: :func:`state`) leaves the labs' numerical path; empty when on it.

    A CPU without AVX2 is not counted here (nothing in the process can fix it); see :func:`setup`.

    >>> problems({**EXPECTED, "mkl_branch": "AUTO"})
    ["MKL runs its 'AUTO' branch, the path needs 'COMPATIBLE'"]
    """
    current = state() if current is None else current
    expected = {**EXPECTED, "threads": threads}
    messages = {"aten_capability": "ATen runs its {got!r} kernels, the path needs {want!r}",
                "mkl_branch": "MKL runs its {got!r} branch, the path needs {want!r}",
                "sqrt": "ATen's sqrt runs {got}, the path needs it correctly rounded",
                "onednn": "oneDNN is on, the path needs it off",
                "numpy_simd": "NumPy dispatches {got}, the path needs its baseline only",
                "openblas": "OpenBLAS runs core type {got!r}, the path needs {want!r}",
                "threads": "torch uses {got} threads, the path needs {want}"}
    return [message.format(got=current[key], want=expected[key]) for key, message in messages.items()
            if current.get(key) is not None and current[key] != expected[key]]


def provenance() -> dict[str, Any]:
    """Where and how a result was produced: the CPU, the path's settings as read back, the libraries."""
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("transformers", "numpy", "optuna", "sklearn", "torchao"):
        module = sys.modules.get(name)
        if module is not None:
            versions["scikit-learn" if name == "sklearn" else name] = getattr(module, "__version__", "?")
    current = state()
    return {"cpu": current.pop("cpu"), "numerical_path": current, "on_path": not problems(current),
            "libraries": dict(sorted(versions.items()))}


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random generators."""
    import numpy
    import torch

    seed = checks.nonnegative_int("seed", seed)
    random.seed(seed)
    torch.manual_seed(seed)
    numpy.random.seed(seed)


def _quiet() -> None:
    """Silence the known chatter of transformers and friends (nbval compares stderr too)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # tqdm warns (with a path that differs per machine) when ipywidgets is absent.
    warnings.filterwarnings("ignore", message="IProgress not found")
    # On CPUs with AVX-512 BF16 only, bitsandbytes asks the Hub for an optional kernel, through the
    # package kernels where it is installed (as in Colab): both log that it is missing or offline.
    for name in ("torchao", "torch.ao", "sentence_transformers", "huggingface_hub", "bitsandbytes", "kernels"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*", category=DeprecationWarning)


def deterministic(mode: bool, warn_only: bool = False) -> None:
    """``torch.use_deterministic_algorithms(mode, warn_only=warn_only)`` without loading torch.compile.

    The public function also sets the flag of torch.compile's Inductor, and imports Inductor to do
    it: over a second per process, fifteen under QEMU. Nothing here compiles, so this sets ATen's
    flag alone where torch exposes it (``torch.are_deterministic_algorithms_enabled`` reads it).
    """
    import torch

    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # another torch: the public function
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    else:
        setter(mode, warn_only=warn_only)


def setup(threads: int = THREADS, seed: int = 0) -> None:
    """Put the labs on their numerical path, seed everything, silence known chatter.

    Run it first, before anything imports torch or NumPy. Raises ``RuntimeError`` (saying to
    restart) where they were imported first with other settings; warns on a CPU without AVX2.
    """
    threads = checks.positive_int("threads", threads)
    loaded_before = [name for name in ("torch", "numpy") if name in sys.modules]
    pin_environment()
    _quiet()
    import torch

    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = False
    deterministic(True)
    from llmedu.lab import exact_sqrt

    exact_sqrt.install()
    seed_everything(seed)
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    current = state()
    if _cpu_flags() and not {"avx2", "fma"} <= set(current["cpu_features"]):
        warnings.warn("this CPU has no AVX2 and FMA, which the labs' numerical path needs: the labs run, "
                      "but their numbers may differ from the book's", stacklevel=2)
    found = problems(current, threads)
    if found:
        before = f" ({' and '.join(loaded_before)} imported before runtime.setup())" if loaded_before else ""
        raise RuntimeError("The labs' numerical path is not in place" + before + ", so this run would not "
                           "print the book's numbers: " + "; ".join(found) + ". " + _RESTART)
    global _set_up
    _set_up = True


def is_set_up() -> bool:
    """Whether :func:`setup` has put this process on the numerical path."""
    return _set_up


def summary(current: dict[str, Any] | None = None) -> str:
    """The path as one line, the same on every CPU that is on it (each lab prints it).

    >>> summary({**EXPECTED, "cpu": "any"})
    'numerical path: ATen AVX2 (exact sqrt), MKL COMPATIBLE, oneDNN off, NumPy baseline, 2 threads'
    """
    current = state() if current is None else current
    numpy_simd = "+".join(current["numpy_simd"]) or "baseline"
    sqrt = " (exact sqrt)" if current.get("sqrt") == "exact" else ""
    return (f"numerical path: ATen {current['aten_capability']}{sqrt}, MKL {current['mkl_branch']}, "
            f"oneDNN {'on' if current['onednn'] else 'off'}, NumPy {numpy_simd}, {current['threads']} threads")
