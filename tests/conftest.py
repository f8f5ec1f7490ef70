"""Test setup: make the helpers in tests/ importable; the built site.

The labs put themselves on their numerical path (:mod:`llmedu.lab.runtime`) in their first cell;
``notebooks/conftest.py`` makes nbval run them as another CPU would.
"""

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the book from scratch (warnings are errors) and return the HTML folder.

    ``LLMEDU_SITE=<folder>/_build/html`` checks an existing build instead (for working on the
    site checks; CI always builds from scratch).
    """
    if os.environ.get("LLMEDU_SITE"):
        yield Path(os.environ["LLMEDU_SITE"])
        return
    shared = os.environ.get("PYTEST_XDIST_WORKER") is not None  # one build for all the run's processes
    out = tmp_path_factory.getbasetemp().parent / "book" if shared else tmp_path_factory.mktemp("book")
    returncode, log = _build_once(out)
    assert returncode == 0, f"the book's -W build failed:\n{log[-6000:]}"
    # No warning at all, Sphinx's ("WARNING:") or a kernel's ("[IPKernelApp] WARNING | ..."):
    # a newcomer running the README's first command should have nothing to wonder about.
    warnings = [line for line in log.splitlines() if re.search(r"\bWARNING\b", line)]
    assert "build succeeded" in log and not warnings, "\n".join(warnings[:20]) or log[-6000:]
    yield out / "_build" / "html"
    if not shared:  # another process may still be reading a shared build; pytest removes old runs' folders
        shutil.rmtree(out, ignore_errors=True)


def _build_once(out: Path) -> tuple[int, str]:
    """Build the book into ``out`` unless a process of this test run already has; its exit code and log.

    Under pytest-xdist the run's processes share ``out``: the first to take the lock builds, the
    others wait for it and read the same build (and the same failure, if it failed).
    """
    out.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(out.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = out / "build-log.txt"
        if not record.exists():
            jupyter_book = Path(sys.executable).with_name("jupyter-book")
            result = subprocess.run(
                [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
                capture_output=True, text=True, cwd=ROOT, timeout=1800,
            )
            record.write_text(f"{result.returncode}\n{result.stdout}{result.stderr}", encoding="utf-8")
    returncode, log = record.read_text(encoding="utf-8").split("\n", 1)
    return int(returncode), log
