"""The book's live calculator: one model's parameters and memory, as a report in a page's language.

The calculator page of each language loads this package's pure-Python modules into Pyodide,
served by the site itself, and calls :func:`report_html` with what the reader typed; so the
browser runs the book's own formulas, not a second implementation of them. The tests call the
same functions and compare what the page shows with them.

Covers: the presets the form offers (:func:`presets`), checking the reader's input (every bad
value gives a ``ValueError`` that says what is allowed), the numbers (:func:`report`: the exact
count per component beside the article's formula; weights, inference with the KV cache, and
training with the article's activation and peak formulas beside the corrected peak, in one
precision regime: mixed precision as ``torch.autocast`` runs it) and their
HTML (:func:`report_html`, labels from :mod:`llmedu.i18n`, numbers from :func:`llmedu.fmt.number`).
Leaves out the form itself (each page writes it in its language, with the field names of
:data:`FIELDS`) and anything that needs torch.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import Any

from llmedu import checks, fmt, i18n, memory, params, units

#: The form's fields, in order: the family, the sizes of the model, the run, the number format.
FIELDS = ("family", "vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "n_positions", "n_token_types",
          "seq_len", "batch", "dtype")
SIZES = ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "n_positions", "n_token_types")


def presets() -> dict[str, dict[str, Any]]:
    """Each named shape of :data:`llmedu.params.PRESETS` as the form's values (a sequence as long as it allows).

    >>> presets()["gpt2"]["d_model"], presets()["gpt2"]["seq_len"]
    (768, 1024)
    """
    values = {}
    for name in params.PRESETS:
        s = params.shape_from_config(params.preset(name))
        values[name] = {"family": s.family, **{k: getattr(s, k) for k in SIZES}, "seq_len": s.n_positions,
                        "batch": 1, "dtype": "fp32"}
    return values


def _shape_and_run(values: dict[str, Any]) -> tuple[params.TransformerShape, int, int, str]:
    missing = [name for name in FIELDS if name not in values]
    if missing:
        raise ValueError(f"missing fields: {', '.join(missing)}; the calculator needs {', '.join(FIELDS)}")
    family = checks.choice("family", values["family"], params.FAMILIES)
    sizes = {name: whole_field(name, values[name]) for name in SIZES}
    s = params.shape(family, **sizes)
    return s, whole_field("seq_len", values["seq_len"]), whole_field("batch", values["batch"]), \
        checks.choice("dtype", values["dtype"], units.DTYPE_BYTES)


def whole_field(name: str, value: Any) -> int:
    """A whole number from a form field (a string of digits or an int); only token types may be 0."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return checks.nonnegative_int(name, value) if name == "n_token_types" else checks.positive_int(name, value)


def report(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters and memory (whole bytes) of the model and run the form describes.

    >>> r = report({**presets()["gpt2"], "seq_len": 1024, "batch": 8, "dtype": "fp16"})
    >>> r["total"], r["inference"]["kv_cache"]
    (124439808, 301989888)
    """
    s, seq, batch, dtype = _shape_and_run(values)
    count = params.count(s)
    article = params.article_formula(s.vocab_size, s.d_model, s.n_layers, s.d_ff)
    mem = memory.report(count, batch=batch, seq_len=seq, dtype=dtype)
    totals = mem["training_totals"]
    loss = {"lm_loss_peak": totals["lm_loss_peak"]} if "lm_loss_peak" in totals else {}
    return {
        "shape": asdict(s), "seq_len": seq, "batch": batch, "dtype": dtype,
        "components": {k: v for k, v in count.components.items() if v},
        "per_layer": count.per_layer, "total": count.total, "article_total": article.total,
        "inference": mem["inference"],
        "training": {
            "states_fp32_adam": mem["training_states"]["fp32_adam"],
            "states_mixed_adam": mem["training_states"]["mixed_adam"],
            "activations_article": totals["article_activations"],
            "activations_korthikanti": totals["korthikanti_activations"],
            **loss,
            "peak_article": totals["article_peak"],
            "peak_corrected": totals["autocast_peak"],
        },
    }


#: Row labels of the report, by key (English; translated by llmedu.i18n).
ROW_LABELS = {
    "token_embeddings": "token embeddings", "position_embeddings": "position embeddings",
    "token_type_embeddings": "token type embeddings", "embedding_layer_norm": "embedding layer norm",
    "attention": "attention", "cross_attention": "cross-attention", "ffn": "FFN", "layer_norms": "layer norms",
    "final_layer_norm": "final layer norm", "pooler": "pooler", "output_head": "output head",
    "weights": "weights", "article_2x": "article: 2 x weights", "eleuther_1.2x": "1.2 x weights",
    "kv_cache": "KV cache", "eleuther_1.2x_plus_kv_cache": "1.2 x weights + KV cache",
    "states_fp32_adam": "model states, fp32 with Adam (16 bytes per parameter)",
    "states_mixed_adam": "model states, mixed precision with Adam (16 bytes per parameter)",
    "activations_article": "activations, all layers: the article's formula",
    "activations_korthikanti": "activations, all layers: Korthikanti et al. (16-bit)",
    "peak_article": "peak: the article's M_steady + activations + 4BSV",
    "lm_loss_peak": "language-model loss at the start of backward (fp32): 12BSV",
    "peak_corrected": "peak, mixed precision as torch.autocast runs it: max(12N + activations + loss, 16N)",
}


def size_row_html(label: str, n_bytes: int, lang: str, key: str) -> str:
    cells = [fmt.number(n_bytes, ",", lang), fmt.number(units.to_mb(n_bytes), ",.1f", lang),
             fmt.number(units.to_mib(n_bytes), ",.1f", lang)]
    return f'<tr data-key="{key}"><th scope="row">{html.escape(label)}</th>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def table_html(caption: str, header: list[str], rows: list[str], key: str) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in header)
    return (f'<table class="calculator-table" data-table="{key}"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def report_html(values: dict[str, Any], lang: str = "en") -> str:
    """The report of :func:`report` as HTML tables, with labels and numbers in ``lang``.

    >>> page = report_html(presets()["bert-base"], "hi")
    >>> '<tr data-key="total">' in page and "10,94,82,240" in page
    True
    """
    _ = i18n.translator(lang)
    r = report(values)
    total = r["total"]
    rows = [f'<tr data-key="{k}"><th scope="row">{html.escape(_(ROW_LABELS[k]))}</th>'
            f'<td>{fmt.number(r["per_layer"][k], ",", lang) if k in r["per_layer"] else ""}</td>'
            f"<td>{fmt.number(v, ',', lang)}</td><td>{fmt.number(v / total, '.1%', lang)}</td></tr>"
            for k, v in r["components"].items()]
    rows.append(f'<tr data-key="total"><th scope="row">{html.escape(_("total"))}</th><td></td>'
                f"<td>{fmt.number(total, ',', lang)}</td><td>{fmt.number(1, '.1%', lang)}</td></tr>")
    article = html.escape(_("the article's formula"))
    rows.append(f'<tr data-key="article_total"><th scope="row">{article}</th><td></td>'
                f"<td>{fmt.number(r['article_total'], ',', lang)}</td>"
                f"<td>{fmt.number(r['article_total'] - total, '+,', lang)}</td></tr>")
    parts = [table_html(_("Parameters by component"), [_("component"), _("in each layer"), _("total"), _("share")],
                    rows, "parameters")]
    size_header = [_("estimate"), _("bytes"), "MB", "MiB"]
    inference = [size_row_html(_(ROW_LABELS[k]), v, lang, k) for k, v in r["inference"].items()]
    parts.append(table_html(_("Inference, weights in {dtype}").format(dtype=r["dtype"]), size_header, inference,
                        "inference"))
    training = [size_row_html(_(ROW_LABELS[k]), v, lang, k) for k, v in r["training"].items()]
    parts.append(table_html(_("Training with Adam, batch {batch}, sequence {seq}").format(
        batch=fmt.number(r["batch"], ",", lang), seq=fmt.number(r["seq_len"], ",", lang)),
        size_header, training, "training"))
    return "\n".join(parts)
