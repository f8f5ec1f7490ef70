"""Test setup: make the helpers in tests/ importable; pin torch's CPU kernels for the labs.

The notebook kernels that nbval starts inherit this process's environment, so the labs run with
the portable kernels of :mod:`llmedu.lab.runtime` and print the same numbers on any x86-64 CPU.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from llmedu.lab.runtime import use_portable_kernels  # noqa: E402  (no torch import)

use_portable_kernels()
