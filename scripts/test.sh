#!/usr/bin/env bash
# Set up the environment and run every check: unit tests and doctests of llmedu, nbval (strict)
# on every lab in notebooks/, and a full -W build of the book with checks of the built site.
# Two processes share the work, a test file (a lab, all its cells in order) at a time: one trains
# while the other builds the book, starts kernels or emulates a CPU (tests/conftest.py builds the
# book once for both).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
