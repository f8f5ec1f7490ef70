"""One call that makes a lab quiet and repeatable: threads, seeds, logging, progress bars.

Same thread count on the same CPU gives bit-identical results across fresh processes. A
different instruction set changes the last bits of every matrix product, and after hundreds of
training steps those bits move accuracies in the third decimal (seen: a model trained on an
AVX-512 machine and the same model trained on an AVX2 machine differed by 0.005 in test
accuracy). :data:`PORTABLE_ENV` pins MKL's and ATen's kernels to their AVX2 code paths, which
every x86-64 CPU of the last decade runs, so the labs' numbers are the same on all of them; it
must be in the environment before torch starts, so the test suite and
``scripts/execute_notebooks.py`` set it for the notebook kernels they start. nbval compares stderr too, so the known chatter of
transformers (logging, hub progress bars, warnings) is silenced here. The labs' own training
progress bar is separate (``progress=`` in :mod:`llmedu.lab.train`).

Leaves out GPU determinism: the labs run on the CPU.
"""

from __future__ import annotations

import logging
import os
import random
import warnings

from llmedu import checks

#: The labs' thread count: Colab's free CPU and the book's CI machine both have 2 cores.
THREADS = 2
#: Environment that makes torch's CPU results independent of the CPU model (x86-64 with AVX2):
#: MKL's conditional numerical reproducibility, and ATen's vectorized kernels, at AVX2.
PORTABLE_ENV = {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def use_portable_kernels() -> None:
    """Put :data:`PORTABLE_ENV` into ``os.environ`` where not already set.

    Takes effect only in processes started afterwards, or before torch is first imported.
    """
    for key, value in PORTABLE_ENV.items():
        os.environ.setdefault(key, value)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's (if installed) and torch's random generators."""
    import torch

    seed = checks.nonnegative_int("seed", seed)
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy comes with torch's usual installs
        return
    numpy.random.seed(seed)


def setup(threads: int = THREADS, seed: int = 0) -> None:
    """Fix the thread count, seed everything, use deterministic kernels, silence known chatter."""
    use_portable_kernels()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # tqdm warns (with a path that differs per machine) when ipywidgets is absent.
    warnings.filterwarnings("ignore", message="IProgress not found")
    import torch

    torch.set_num_threads(checks.positive_int("threads", threads))
    torch.use_deterministic_algorithms(True)
    seed_everything(seed)
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    for name in ("torchao", "torch.ao", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*", category=DeprecationWarning)
