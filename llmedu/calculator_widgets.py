"""The book's calculator as Jupyter widgets, for a notebook in Jupyter or Colab.

The same two forms as the site's calculator page, with the same reports: :class:`Calculator`
(a preset of the classic shapes, or a model's sizes, and a run) calls
:func:`llmedu.calculator.report_html` on every change; :class:`DecoderCalculator` (a pasted
``config.json`` of today's decoders, or a preset that fills it, and a run with weight and KV cache
formats and a LoRA rank) calls :func:`llmedu.calculator_decoders.report_html`. So the widgets show
the numbers of the functions the book explains and tests, not a second implementation. A value
that is not allowed shows llmedu's ``ValueError`` message in place of the report.

Displayed where no kernel runs the widgets (the book's static lab pages, a notebook viewer), the
calculator shows the report of its current values as HTML instead of the form; nbval compares
that report like any other output.

Covers both forms (labels from :mod:`llmedu.i18n`, in any of the book's languages), following their
changes, and reading their state (``values()``, ``result()``). Leaves out
the formulas (:mod:`llmedu.calculator`) and the browser page (``book/_ext/calculator.js``).
Needs ``ipywidgets`` (7.6 or later; Colab and JupyterLab ship it, ``llmedu[lab]`` installs it).
"""

from __future__ import annotations

import html
from typing import Any

from llmedu import calculator, calculator_decoders, checks, gguf_recipes, i18n, kv_cache, params, units

#: The form's label of each field (English; translated by :mod:`llmedu.i18n`).
LABELS = {"preset": "Preset", "family": "Family", "vocab_size": "Vocabulary", "d_model": "Width (d_model)",
          "n_layers": "Layers", "n_heads": "Heads", "d_ff": "FFN width (d_ff)", "n_positions": "Positions",
          "n_token_types": "Token types", "seq_len": "Sequence length", "batch": "Batch size",
          "dtype": "Weights format", "weights": "Weights format",
          "kv_format": "KV cache format", "lora_rank": "LoRA rank"}
#: Shown above llmedu's message when a value is not allowed.
INVALID = "The input is not valid: see the message below."


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        raise ImportError("the calculator's widgets need ipywidgets: pip install ipywidgets "
                          "(Colab and JupyterLab have it; llmedu[lab] installs it)") from None
    return ipywidgets


class _Form:
    """What both forms share: the report (or llmedu's message) below the form, and how it displays."""

    lang: str
    output: Any
    box: Any
    #: The module whose ``report`` and ``report_html`` the form shows (looked up at each call).
    formulas: Any
    fields: dict[str, Any]

    def values(self) -> dict[str, Any]:
        """The form's current values, as the formulas' ``report`` takes them."""
        return {name: field.value for name, field in self.fields.items()}

    def result(self) -> dict[str, Any]:
        """The formulas' ``report`` of the current values (raises its ``ValueError`` if one is not allowed)."""
        return self.formulas.report(self.values())

    def _update(self) -> None:
        try:
            self.output.value = self.formulas.report_html(self.values(), self.lang)
        except ValueError as error:
            self.output.value = (f'<p class="calculator-error" role="alert">{html.escape(i18n.translate(INVALID, self.lang))}'
                                 f"<br>{html.escape(str(error))}</p>")

    def _changed(self, change: Any) -> None:
        if not self._loading:
            self._update()

    def _describe(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The live form where a kernel runs widgets; elsewhere, the report of the current values."""
        return {"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                             "model_id": self.box.model_id},
                "text/html": self.output.value, "text/plain": self._describe()}


def _check_fields(values: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"unknown calculator fields: {', '.join(unknown)}; allowed: {', '.join(allowed)}")


class Calculator(_Form):
    """The calculator's form and report; display it (the last line of a cell) to use it.

    ``preset`` names the model the form starts with (one of :func:`llmedu.calculator.presets`);
    ``values`` override its fields (``seq_len=1024, batch=8``, any of :data:`calculator.FIELDS`).

    >>> form = Calculator("gpt2", batch=8, dtype="fp16")
    >>> form.fields["seq_len"].value = 512          # what a reader types into the form
    >>> form.result()["inference"]["kv_cache"]
    150994944
    >>> form.fields["n_heads"].value = 7            # 768 is not a multiple of 7
    >>> "d_model (768) must be divisible by n_heads (7)" in form.output.value
    True
    """

    formulas = calculator

    def __init__(self, preset: str = "gpt2", lang: str = "en", **values: Any) -> None:
        widgets = _ipywidgets()
        presets = calculator.presets()
        checks.choice("preset", preset, presets)
        _check_fields(values, calculator.FIELDS)
        start = {**presets[preset], **values}
        calculator.report(start)  # bad starting values fail here, with the calculator's message
        self.lang = lang
        _ = i18n.translator(lang)
        style = {"description_width": "11em"}
        self.preset = widgets.Dropdown(options=list(presets), value=preset, description=_(LABELS["preset"]), style=style)
        self.fields: dict[str, Any] = {}
        for name in calculator.FIELDS:
            if name in ("family", "dtype"):
                options = params.FAMILIES if name == "family" else units.DTYPE_BYTES
                field = widgets.Dropdown(options=list(options), value=start[name])
            else:
                field = widgets.IntText(value=start[name])
            field.description, field.style = _(LABELS[name]), style
            field.observe(self._changed, names="value")
            self.fields[name] = field
        self.preset.observe(self._preset_chosen, names="value")
        self.output = widgets.HTML()
        model = [self.preset] + [self.fields[n] for n in ("family",) + calculator.SIZES]
        run = [self.fields[n] for n in ("seq_len", "batch", "dtype")]
        self.box = widgets.VBox([widgets.HBox([widgets.VBox(model), widgets.VBox(run)]), self.output])
        self._loading = False
        self._update()

    def _preset_chosen(self, change: Any) -> None:
        self._loading = True  # one report for the whole preset, not one per field
        try:
            for name, value in calculator.presets()[change["new"]].items():
                self.fields[name].value = value
        finally:
            self._loading = False
        self._update()

    def _describe(self) -> str:
        return (f"llmedu calculator: {self.preset.value}, {self.fields['dtype'].value}, "
                f"batch {self.fields['batch'].value}, sequence {self.fields['seq_len'].value}")


class DecoderCalculator(_Form):
    """The decoder calculator's form and report: a ``config.json`` (pasted, or a preset's), and a run.

    ``preset`` names the decoder whose config fills the box (one of :data:`llmedu.decoders.PRESETS`);
    ``config`` (the text of a Hugging Face ``config.json``) replaces it; ``values`` override the
    run (``seq_len``, ``batch``, ``weights``, ``kv_format``, ``lora_rank``).

    >>> form = DecoderCalculator("llama-3-8b", seq_len=4096)
    >>> form.result()["fit"]["qlora"]["fits"][:2]      # memory sizes in GiB that hold QLoRA
    [16, 24]
    >>> form.fields["seq_len"].value = 8192             # what a reader types into the form
    >>> form.result()["fit"]["qlora"]["fits"][:2]
    [24, 40]
    >>> form.fields["config"].value = '{"model_type": "t5"}'   # what a reader pastes
    >>> "allowed: bert, distilbert, gpt2, roberta, llama" in form.output.value
    True
    """

    formulas = calculator_decoders

    def __init__(self, preset: str = "llama-3-8b", lang: str = "en", config: str | None = None, **values: Any) -> None:
        widgets = _ipywidgets()
        presets = calculator_decoders.presets()
        checks.choice("preset", preset, presets)
        _check_fields(values, calculator_decoders.FIELDS[1:])
        start = {"config": presets[preset] if config is None else config, **calculator_decoders.defaults(), **values}
        calculator_decoders.report(start)  # bad starting values fail here, with the calculator's message
        self.lang = lang
        _ = i18n.translator(lang)
        style = {"description_width": "11em"}
        self.preset = widgets.Dropdown(options=list(presets), value=preset, description=_(LABELS["preset"]), style=style)
        self.fields = {"config": widgets.Textarea(value=start["config"], rows=12, continuous_update=False,
                                                  layout=widgets.Layout(width="32em"))}
        for name in calculator_decoders.FIELDS[1:]:
            if name in ("weights", "kv_format"):
                options = gguf_recipes.WEIGHT_CHOICES if name == "weights" else kv_cache.KV_FORMATS
                self.fields[name] = widgets.Dropdown(options=list(options), value=start[name])
            else:
                self.fields[name] = widgets.IntText(value=start[name])
        for name, field in self.fields.items():
            field.description = "config.json" if name == "config" else _(LABELS[name])  # a file's name stays
            field.style = style
            field.observe(self._changed, names="value")
        self.preset.observe(self._preset_chosen, names="value")
        self.output = widgets.HTML()
        run = [self.fields[n] for n in calculator_decoders.FIELDS[1:]]
        self.box = widgets.VBox([widgets.HBox([widgets.VBox([self.preset, self.fields["config"]]), widgets.VBox(run)]),
                                 self.output])
        self._loading = False
        self._update()

    def _preset_chosen(self, change: Any) -> None:
        self.fields["config"].value = calculator_decoders.presets()[change["new"]]  # one change, one report

    def _describe(self) -> str:
        return (f"llmedu decoder calculator: {self.preset.value}, {self.fields['weights'].value}, "
                f"KV cache {self.fields['kv_format'].value}, batch {self.fields['batch'].value}, "
                f"sequence {self.fields['seq_len'].value}")
