"""The labs' results: small JSON files that the labs write and the chapters read.

Heavy work runs once, in a lab; the chapters of every language read its results through
:func:`read` and never retrain, so the four languages show the same numbers. One file per lab,
``notebooks/results/<lab>.json`` in the repository (found from the working folder, so it works
from ``notebooks/`` and from ``book/<lang>/``), keys sorted so that an unchanged result rewrites
an identical file. ``$LLMEDU_RESULTS`` overrides the folder; outside the repository (in Colab)
results go to ``./results``.

A file written by a lab (on the numerical path of :mod:`llmedu.lab.runtime`) also says where and how it was computed: the CPU, the
numerical path as the libraries report it, and their versions (``produced_on``, from
:func:`llmedu.lab.runtime.provenance`). Leaves out what the numbers mean: each lab documents its
own keys.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any, BinaryIO

_LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def results_dir(start: Path | None = None) -> Path:
    """``$LLMEDU_RESULTS``, else ``notebooks/results`` of the repository around ``start`` (default: cwd)."""
    if os.environ.get("LLMEDU_RESULTS"):
        return Path(os.environ["LLMEDU_RESULTS"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
            return folder / "notebooks" / "results"
    return Path("results")


def _path(lab: str) -> Path:
    if not isinstance(lab, str) or not _LAB_NAME.match(lab):
        raise ValueError(f"lab must be a name of lowercase letters, digits, '-' and '_', got {lab!r}")
    return results_dir() / f"{lab}.json"


def write(lab: str, values: dict[str, Any]) -> Path:
    """Write ``values`` (JSON-serialisable) as the results of ``lab``; return the file's path."""
    path = _path(lab)
    runtime = sys.modules.get("llmedu.lab.runtime")
    if runtime is not None and runtime.is_set_up():  # a lab's results: record the machine and the numerical path
        values = {**values, "produced_on": runtime.provenance()}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_whole(path, lambda file: file.write(text.encode("utf-8")))
    return path


def write_whole(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file with ``write(file)`` so that a reader in another process (a second lab, a parallel
    test) sees the old file or the new one, never a part: a temporary file of this process's own in
    the same folder, renamed over ``path``."""
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read(lab: str) -> dict[str, Any]:
    """The results of ``lab``; a clear error if the lab has not been run."""
    path = _path(lab)
    if not path.is_file():
        raise FileNotFoundError(f"no results for lab {lab!r} at {path}: run its notebook first")
    return json.loads(path.read_text(encoding="utf-8"))
