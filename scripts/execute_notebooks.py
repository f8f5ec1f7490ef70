"""Execute lab notebooks in place, so that their committed outputs are fresh for nbval.

Usage: .venv/bin/python scripts/execute_notebooks.py [notebooks/NAME.ipynb ...]
(default: every notebook in notebooks/). Runs each in its own folder with the 'python3'
kernel of the current environment and merges consecutive stream outputs, as nbval compares
them. Each lab puts itself on the numerical path of llmedu.lab.runtime in its first cell; after
the last cell this script asks the same kernel where it ran (llmedu.lab.runtime.provenance) and
refuses to write a notebook made off the path. The answer (the CPU, the path as the libraries
report it, their versions) goes into the notebook's metadata, under "llmedu". It does not
decide what is stable: cells with wall-clock output carry the 'nbval-ignore-output' tag.
The translations of each lab written (notebooks/<lang>/) then get its new code and outputs
(scripts/translate_labs.py --sync does the same for every lab).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "book" / "_ext"))
import kernel_transport  # noqa: E402  (the book's extension: encrypted kernel sockets, no TCP warning)
import lab_translations  # noqa: E402  (the book's library of translated labs)

import translate_labs  # noqa: E402  (rebuilding a translation, and saying so)

kernel_transport.encrypt()

#: Run after a lab's last cell, in its kernel, and removed before the notebook is written.
PROVENANCE_CELL = "import json as _json\nfrom llmedu.lab import runtime as _runtime\nprint(_json.dumps(_runtime.provenance()))"


def merge_streams(outputs: list) -> list:
    merged: list = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1]["name"] == out["name"]):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def execute(path: Path) -> bool:
    """Execute ``path`` and write it back if it ran on the numerical path; say which."""
    if path.resolve().parent.name in lab_translations.TRANSLATED:
        print(f"NOT RUN {path}: a translated lab is its English lab's code and outputs; execute notebooks/{path.name}")
        return False
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROVENANCE_CELL))
    # No saved widget state: the site shows the widgets' HTML fallback, and Colab makes live ones.
    NotebookClient(nb, timeout=1800, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    produced_on = json.loads("".join(out.get("text", "") for out in nb.cells.pop().outputs))
    if not produced_on["on_path"]:
        print(f"NOT WRITTEN {path}: it ran off the numerical path: {produced_on['numerical_path']}")
        return False
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nb.metadata["llmedu"] = {"produced_on": produced_on}
    nbformat.write(nb, path)
    print(f"executed {path} on {produced_on['cpu']}")
    for lang in lab_translations.TRANSLATED:
        if lab_translations.translation_path(path, lang).exists():
            translate_labs.sync(path, lang)
    return True


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path("notebooks").glob("*.ipynb"))
    written = [execute(notebook) for notebook in paths]
    sys.exit(0 if all(written) else 1)
