"""Lets Sphinx read (and so execute) the chapters two at a time: see ``scripts/build_book.py``.

Sphinx reads pages in parallel only if every extension declares that safe. One of Jupyter Book's
does not say: ``sphinx_multitoc_numbering`` (loaded by ``sphinx_external_toc`` whatever the
configuration). All it does is replace the toctree collector's ``assign_section_numbers``, which
Sphinx runs once, in the main process, after the parallel readers' environments are merged; it
keeps nothing of its own while pages are read. So this extension declares it safe for reading.
Leaves writing alone (Sphinx's HTML writer stays serial as Jupyter Book runs it).
"""

from __future__ import annotations

from typing import Any

NOT_DECLARED = "sphinx_multitoc_numbering"


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension(NOT_DECLARED)
    app.extensions[NOT_DECLARED].parallel_read_safe = True
    return {"parallel_read_safe": True, "parallel_write_safe": True}
