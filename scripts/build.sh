#!/usr/bin/env bash
# Set up the environment and build the four-language site into _build/html.
# Warnings are errors (-W), references are checked (-n); the build fails on any of them.
# scripts/build_book.py is `jupyter-book build` reading (and running) two pages at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/build_book.py . -W -n --keep-going "$@"
echo "The site is in _build/html (open _build/html/index.html)."
