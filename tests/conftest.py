"""Test setup: make the helpers in tests/ importable; the built site.

The labs put themselves on their numerical path (:mod:`llmedu.lab.runtime`) in their first cell;
``notebooks/conftest.py`` makes nbval run them as another CPU would.
"""

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
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(  # scripts/build.sh's build (jupyter-book build, two pages at a time)
        [sys.executable, str(ROOT / "scripts" / "build_book.py"), str(ROOT), "--path-output", str(out), "-W", "-n",
         "--keep-going"],
        capture_output=True, text=True, cwd=ROOT, timeout=1800,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the book's -W build failed:\n{log[-6000:]}"
    # No warning at all, Sphinx's ("WARNING:") or a kernel's ("[IPKernelApp] WARNING | ..."):
    # a newcomer running the README's first command should have nothing to wonder about.
    warnings = [line for line in log.splitlines() if re.search(r"\bWARNING\b", line)]
    assert "build succeeded" in log and not warnings, "\n".join(warnings[:20]) or log[-6000:]
    yield out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)
