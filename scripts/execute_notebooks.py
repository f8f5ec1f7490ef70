"""Execute lab notebooks in place, so that their committed outputs are fresh for nbval.

Usage: .venv/bin/python scripts/execute_notebooks.py [notebooks/NAME.ipynb ...]
(default: every notebook in notebooks/). Runs each in its own folder with the 'python3'
kernel of the current environment, with torch's portable CPU kernels (as the tests run them,
see llmedu.lab.runtime), and merges consecutive stream outputs, as nbval compares them. It does not decide what is stable: cells with wall-clock output carry the
'nbval-ignore-output' tag.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from llmedu.lab.runtime import use_portable_kernels


def merge_streams(outputs: list) -> list:
    merged: list = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1]["name"] == out["name"]):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    # No saved widget state: the site shows the widgets' HTML fallback, and Colab makes live ones.
    NotebookClient(nb, timeout=1800, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.write(nb, path)
    print(f"executed {path}")


if __name__ == "__main__":
    use_portable_kernels()
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path("notebooks").glob("*.ipynb"))
    for notebook in paths:
        execute(notebook)
