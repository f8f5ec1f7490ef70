"""``jupyter-book build`` with Sphinx reading (and so executing) two pages at a time.

Jupyter Book 1's command line always asks Sphinx for one process; its ``build_sphinx`` takes a
``jobs`` argument that the command line does not pass. This runs the same command with
``jobs`` set (``$LLMEDU_BUILD_JOBS``, default 2: the book's CI machine and Colab have two cores),
so that two chapters' code runs at once. Every argument is ``jupyter-book build``'s::

    python scripts/build_book.py . -W -n --keep-going

Leaves out everything else about the build (``_config.yml`` and ``_toc.yml`` say it all).
"""

from __future__ import annotations

import functools
import os
import sys

import jupyter_book.cli.main as cli
import jupyter_book.sphinx


def main(argv: list[str]) -> None:
    jobs = os.environ.get("LLMEDU_BUILD_JOBS", "2")
    if not jobs.isdigit() or int(jobs) < 1:
        sys.exit(f"LLMEDU_BUILD_JOBS must be a whole number of processes, 1 or more, got {jobs!r}")
    # the command imports build_sphinx from its module when it runs: give the module the one with jobs
    jupyter_book.sphinx.build_sphinx = functools.partial(jupyter_book.sphinx.build_sphinx, jobs=int(jobs))
    cli.main(["build", *argv], prog_name="jupyter-book")


if __name__ == "__main__":
    main(sys.argv[1:])
