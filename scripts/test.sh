#!/usr/bin/env bash
# Set up the environment and run every check: unit tests and doctests of llmedu, nbval (strict)
# on every lab in notebooks/, and a full -W build of the book with checks of the built site.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
