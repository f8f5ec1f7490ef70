// The live calculator (book/<lang>/calculator.md): runs llmedu's own Python in the browser with
// Pyodide, both served by this site (book/_ext/calculator.py); nothing is fetched from elsewhere.
(function () {
  "use strict";
  const form = document.getElementById("llmedu-calculator");
  if (!form) return;
  const status = form.querySelector(".calculator-status");
  const output = document.getElementById("llmedu-calculator-output");
  const lang = form.dataset.lang || "en";
  const say = (key, state) => {
    status.textContent = form.dataset[key] || key;
    status.dataset.state = state;
  };

  const fields = () => Object.fromEntries(
    Array.from(form.querySelectorAll("[data-field]")).map((el) => [el.name, el.value.trim()]));

  async function start() {
    const pyodide = await loadPyodide({ indexURL: new URL(form.dataset.pyodide, location.href).href });
    const base = new URL(form.dataset.package, location.href);
    const files = await (await fetch(new URL("files.json", base))).json();
    for (const name of files) {
      const path = `/home/pyodide/llmedu/${name}`;
      pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
      pyodide.FS.writeFile(path, await (await fetch(new URL(name, base))).text());
    }
    pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
    const calculator = pyodide.pyimport("llmedu.calculator");
    const options = JSON.parse(pyodide.runPython(
      "import json\nfrom llmedu import calculator, params, units\n" +
      "json.dumps({'presets': calculator.presets(), 'families': list(params.FAMILIES), 'dtypes': list(units.DTYPE_BYTES)})"));
    const fill = (select, values) => {
      select.replaceChildren(...values.map((v) => new Option(v, v)));
    };
    fill(form.elements.preset, Object.keys(options.presets));
    fill(form.elements.family, options.families);
    fill(form.elements.dtype, options.dtypes);
    const usePreset = () => {
      for (const [name, value] of Object.entries(options.presets[form.elements.preset.value])) {
        if (form.elements[name]) form.elements[name].value = value;
      }
    };
    const compute = () => {
      try {
        output.innerHTML = calculator.report_html(pyodide.toPy(fields()), lang);
        say("ready", "ready");
      } catch (error) {
        const lines = String(error.message || error).trim().split("\n");
        output.replaceChildren(Object.assign(document.createElement("p"),
          { className: "calculator-error", textContent: lines[lines.length - 1] }));
        say("failed", "error");
      }
    };
    form.elements.preset.value = form.dataset.preset || "gpt2";
    form.elements.preset.addEventListener("change", () => { usePreset(); compute(); });
    form.addEventListener("submit", (event) => { event.preventDefault(); compute(); });
    for (const el of form.querySelectorAll("fieldset, button")) el.disabled = false;
    usePreset();
    compute();
  }

  start().catch((error) => {
    say("unavailable", "error");
    console.warn("calculator:", error);
  });
})();
