// The live calculators (book/<lang>/calculator.md): run llmedu's own Python in the browser with
// Pyodide, both served by this site (book/_ext/calculator.py); nothing is fetched from elsewhere.
// Two forms share one Python: the classic shapes (llmedu.calculator) and today's decoders from a
// pasted config.json (llmedu.calculator_decoders).
(function () {
  "use strict";
  const KINDS = {
    "llmedu-calculator": {
      module: "llmedu.calculator",
      options: "import json\nfrom llmedu import calculator, params, units\n" +
        "json.dumps({'presets': calculator.presets(), 'selects': {'family': list(params.FAMILIES), " +
        "'dtype': list(units.DTYPE_BYTES)}, 'defaults': {}})",
    },
    "llmedu-decoder-calculator": {
      module: "llmedu.calculator_decoders",
      options: "import json\nfrom llmedu import calculator_decoders as c, gguf_recipes, kv_cache\n" +
        "json.dumps({'presets': {k: {'config': v} for k, v in c.presets().items()}, " +
        "'selects': {'weights': list(gguf_recipes.WEIGHT_CHOICES), 'kv_format': list(kv_cache.KV_FORMATS)}, " +
        "'defaults': c.defaults()})",
    },
  };

  function main() {
    const forms = Object.keys(KINDS).map((id) => document.getElementById(id)).filter(Boolean);
    if (!forms.length) return;
    const lang = forms[0].dataset.lang || "en";
    const say = (form, key, state) => {
      const status = form.querySelector(".calculator-status");
      status.textContent = form.dataset[key] || key;
      status.dataset.state = state;
    };
    const fields = (form) => Object.fromEntries(
      Array.from(form.querySelectorAll("[data-field]")).map((el) => [el.name, el.value.trim()]));

    function setUp(pyodide, form) {
      const kind = KINDS[form.id];
      const calculator = pyodide.pyimport(kind.module);
      const options = JSON.parse(pyodide.runPython(kind.options));
      const output = document.getElementById(`${form.id}-output`);
      const fill = (select, values) => select.replaceChildren(...values.map((v) => new Option(v, v)));
      fill(form.elements.preset, Object.keys(options.presets));
      for (const [name, values] of Object.entries(options.selects)) fill(form.elements[name], values);
      const setValues = (values) => {
        for (const [name, value] of Object.entries(values)) {
          if (form.elements[name]) form.elements[name].value = value;
        }
      };
      const compute = () => {
        try {
          output.innerHTML = calculator.report_html(pyodide.toPy(fields(form)), lang);
          say(form, "ready", "ready");
        } catch (error) {
          const lines = String(error.message || error).trim().split("\n");
          output.replaceChildren(Object.assign(document.createElement("p"),
            { className: "calculator-error", textContent: lines[lines.length - 1] }));
          say(form, "failed", "error");
        }
      };
      form.elements.preset.value = form.dataset.preset || Object.keys(options.presets)[0];
      const usePreset = () => setValues(options.presets[form.elements.preset.value]);
      form.elements.preset.addEventListener("change", () => { usePreset(); compute(); });
      form.addEventListener("submit", (event) => { event.preventDefault(); compute(); });
      for (const el of form.querySelectorAll("fieldset, button")) el.disabled = false;
      setValues(options.defaults);
      usePreset();
      compute();
    }

    async function start() {
      const pyodide = await loadPyodide({ indexURL: new URL(forms[0].dataset.pyodide, location.href).href });
      const base = new URL(forms[0].dataset.package, location.href);
      const files = await (await fetch(new URL("files.json", base))).json();
      for (const name of files) {
        const path = `/home/pyodide/llmedu/${name}`;
        pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
        pyodide.FS.writeFile(path, await (await fetch(new URL(name, base))).text());
      }
      pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
      for (const form of forms) setUp(pyodide, form);
    }

    start().catch((error) => {
      for (const form of forms) say(form, "unavailable", "error");
      console.warn("calculator:", error);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
