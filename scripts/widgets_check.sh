#!/usr/bin/env bash
# Do the memory lab's calculator widgets work in a real notebook frontend? A fresh virtual
# environment with the newest JupyterLab and ipywidgets, the package installed with pip (not
# editable), and scripts/widgets_check.py driving JupyterLab in headless Chromium on 127.0.0.1.
# Not part of the test command (JupyterLab is not in the book's pinned environment); it runs
# weekly with the labs' check against the newest libraries, and by hand. About two minutes.
# Usage: bash scripts/widgets_check.sh        (Chromium: $CHROMIUM, else /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check . jupyterlab ipywidgets \
  "playwright==$(sed -n 's/^playwright==//p' requirements.txt)"
SCREENSHOT="${SCREENSHOT:-$work/widgets.png}" "$work/venv/bin/python" scripts/widgets_check.py
