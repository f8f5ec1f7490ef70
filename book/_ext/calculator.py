"""The live calculator's files in the built site: the book's own Python, served to the reader's browser.

At the end of an HTML build it copies into ``<site>/calculator/``

* the pure-Python modules of ``llmedu`` that :mod:`llmedu.calculator` and
  :mod:`llmedu.calculator_decoders` need (and the label tables in ``translations/``), with
  ``files.json`` listing them, which ``calculator.js`` writes into Pyodide's file system before it
  imports them;
* ``calculator.js`` itself (kept here, not under ``_static``, which every page would load).

Pyodide (the Python interpreter compiled to WebAssembly) comes from npm, pinned in
package-lock.json, and ``scripts/setup.sh`` copies it into ``book/_extra/pyodide``, which the
build publishes at the site's root, like MathJax. Leaves the page and its form to the
``calculator.md`` page of each language.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent.parent / "llmedu"
#: What llmedu.calculator and llmedu.calculator_decoders import, directly or not (a test checks that
#: this list is closed).
MODULES = ("__init__.py", "checks.py", "units.py", "params.py", "decoders.py", "memory.py", "fmt.py", "i18n.py",
           "calculator.py", "model_config.py", "weight_formats.py", "gguf_recipes.py", "kv_cache.py", "finetuning.py",
           "fit.py", "speed.py", "calculator_decoders.py")


def package_files() -> list[str]:
    """The files of ``llmedu`` the browser needs, relative to the package."""
    tables = sorted(p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "translations").glob("*.json"))
    return [*MODULES, *tables]


def _copy(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "calculator"
    files = package_files()
    for name in files:
        (target / "llmedu" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / name, target / "llmedu" / name)
    (target / "llmedu" / "files.json").write_text(json.dumps(files), encoding="utf-8")
    shutil.copyfile(HERE / "calculator.js", target / "calculator.js")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
