"""The memory lab's calculator widgets in a real JupyterLab, driven by headless Chromium.

    python scripts/widgets_check.py   # run by scripts/widgets_check.sh, in its own environment

nbval checks what the widget cell outputs, and the unit tests drive the widgets from Python;
neither shows that a notebook frontend draws the form and that the report follows what a reader
types. This script starts JupyterLab on 127.0.0.1 with a notebook holding the lab's own widget
cells (copied from ``notebooks/02_memory.ipynb``), runs them in Chromium, and checks, for the
classic form and for the decoder form, that the form appears, that its total is llmedu's, that
choosing another preset updates the report, and that a value that is not allowed (a head count; a
pasted config of an unknown model type) shows llmedu's message. Leaves out Colab, which cannot be driven
from here. Chromium: ``$CHROMIUM``, else ``/usr/bin/chromium``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from llmedu import calculator, calculator_decoders

ROOT = Path(__file__).resolve().parent.parent
PORT = 8899


def lab_cell(constructor: str) -> str:
    cells = json.loads((ROOT / "notebooks" / "02_memory.ipynb").read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and constructor in "".join(c["source"]))


def notebook(sources: list[str]) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"calculator-{i}", "metadata": {},
                       "outputs": [], "source": source} for i, source in enumerate(sources)],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def shown_total(output) -> str:
    return output.locator('tr[data-key="total"] td').nth(1).inner_text()


def check(page, sources: list[str]) -> list[str]:
    problems = []
    namespace: dict = {}
    for source in sources:
        exec(source, namespace)  # the lab's cells, here: what their forms should show
    page.goto(f"http://127.0.0.1:{PORT}/lab/tree/calculator.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=180_000)
    # the status bar reads "Python 3 (ipykernel) | Idle" once the kernel has started
    page.wait_for_function("() => document.body.innerText.includes('| Idle')", timeout=180_000)
    page.click(".jp-Cell .jp-InputArea-editor")
    for _ in sources:
        page.keyboard.press("Shift+Enter")
    classic, decoder = (page.locator(".jp-Cell").nth(i).locator(".jp-OutputArea-output") for i in (0, 1))
    classic.locator(".widget-dropdown select").first.wait_for(timeout=180_000)
    decoder.locator(".widget-textarea textarea").wait_for(timeout=180_000)

    expected = f"{namespace['form'].result()['total']:,}"
    if shown_total(classic) != expected:
        problems.append(f"the form shows a total of {shown_total(classic)}; llmedu computes {expected}")
    classic.locator(".widget-dropdown select").first.select_option("gpt2")
    expected = f"{calculator.report(calculator.presets()['gpt2'])['total']:,}"
    classic.locator('tr[data-key="total"]', has_text=expected).wait_for(timeout=30_000)
    heads = classic.locator(".widget-text", has_text="Heads").locator("input")
    heads.fill("7")
    heads.press("Enter")
    classic.locator(".calculator-error").wait_for(timeout=30_000)
    message = classic.locator(".calculator-error").inner_text()
    if "must be divisible by n_heads (7)" not in message:
        problems.append(f"7 heads for width 768 should show llmedu's message, not {message!r}")

    expected = f"{namespace['decoder_form'].result()['total']:,}"
    if shown_total(decoder) != expected:
        problems.append(f"the decoder form shows a total of {shown_total(decoder)}; llmedu computes {expected}")
    decoder.locator(".widget-dropdown select").first.select_option("mistral-7b")
    values = {"config": calculator_decoders.presets()["mistral-7b"], **calculator_decoders.defaults(),
              **{name: namespace["decoder_form"].fields[name].value for name in ("seq_len", "weights")}}
    expected = f"{calculator_decoders.report(values)['total']:,}"
    decoder.locator('tr[data-key="total"]', has_text=expected).wait_for(timeout=30_000)
    config = decoder.locator(".widget-textarea textarea")
    config.fill('{"model_type": "t5"}')
    config.press("Tab")  # the box reports when it loses the focus (continuous_update=False)
    decoder.locator(".calculator-error").wait_for(timeout=30_000)
    message = decoder.locator(".calculator-error").inner_text()
    if "allowed: bert, distilbert" not in message:
        problems.append(f"a pasted t5 config should show llmedu's list of model types, not {message!r}")
    return problems


def main() -> int:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    sources = [lab_cell("calculator_widgets.Calculator("), lab_cell("calculator_widgets.DecoderCalculator(")]
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "calculator.ipynb").write_text(json.dumps(notebook(sources)), encoding="utf-8")
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={PORT}", "--ServerApp.ip=127.0.0.1",
             "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={work}", "--allow-root"],
            stdout=open(Path(work) / "server.log", "w"), stderr=subprocess.STDOUT)
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api", timeout=2)
                    break
                except OSError:
                    time.sleep(1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                try:
                    problems = check(page, sources)
                finally:
                    page.screenshot(path=str(Path(os.environ.get("SCREENSHOT", Path(work) / "widgets.png"))))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    for problem in problems:
        print(f"FAILED  {problem}")
    if not problems:
        print("The memory lab's calculator widgets work in JupyterLab, both forms: the form, the total, a new preset, "
              "an error.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
