"""One call that makes a lab quiet and repeatable: threads, seeds, logging, progress bars.

Same thread count on the same CPU gives bit-identical results across fresh processes; a
different thread count or instruction set changes only the last bits, which is why the labs
print losses and accuracies at 3 decimals. nbval compares stderr too, so the known chatter of
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
