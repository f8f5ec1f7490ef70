"""nbval runs the labs as another CPU would: oneDNN, MKL and FBGEMM forced to other code paths.

The committed outputs are made with this machine's own choices (``scripts/execute_notebooks.py``);
the tests run the same labs with :data:`llmedu.lab.runtime.OTHER_CPU_ENV` in the environment of
the kernels that nbval starts. A lab on the numerical path prints the same numbers either way; a
kernel that escapes the path (a new library, a new lab) shows up as a mismatch on this very
machine. Each lab puts itself on the path in its first cell, so nothing else is set here, and
the variables are set only while a notebook's cells run (the rest of the test session keeps
this machine's own choices).

The translated labs (``notebooks/<lang>/``) are not run: their code and outputs are the English
lab's (``book/_ext/lab_translations.py``), which nbval checks here; ``tests/test_lab_translations.py``
checks that they are.
"""

import os

import pytest

from llmedu.lab.runtime import OTHER_CPU_ENV  # no torch import

collect_ignore = ["cs", "bn", "hi"]

_saved: dict[str, str | None] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a cell is set up (nbval starts the notebook's kernel then), as another CPU would choose."""
    for key, value in OTHER_CPU_ENV.items():
        _saved.setdefault(key, os.environ.get(key))
        os.environ[key] = value


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After a cell, this machine's own choices again."""
    for key, value in _saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _saved.clear()
