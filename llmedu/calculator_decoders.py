"""The live calculator for today's decoders: a pasted ``config.json``, and its memory, fit and speed.

The calculator page's second form runs in the reader's browser like the first (:mod:`llmedu.calculator`):
the reader pastes a Hugging Face ``config.json`` (or picks a preset, which fills the box with its
config) and chooses a run; :func:`report_html` answers with the exact parameter count (total and
active per token), the weights in the chosen format with the KV cache, which memory sizes hold
inference and each kind of fine-tuning, and the roofline bounds on three devices. It reads the
pasted text with :func:`llmedu.model_config.parse`, the reader the command line uses for files,
and computes with the same functions as ``python -m llmedu memory``, ``fit`` and ``speed``.

Covers: the presets as config text (:func:`presets`), checking the input (every bad value gives a
one-line ``ValueError`` that says what is allowed), :func:`report` and its HTML in a page's
language. Leaves out the form (each page writes it in its language, with the names of
:data:`FIELDS`; the Jupyter widgets' form is :class:`llmedu.calculator_widgets.DecoderCalculator`)
and the classic BERT and GPT-2 shapes (the first form).
"""

from __future__ import annotations

import html
import json
from typing import Any

from llmedu import (checks, decoders, finetuning, fit, fmt, gguf_recipes, i18n, kv_cache, model_config, speed,
                    units)
from llmedu.calculator import size_row_html, table_html, whole_field

#: The form's fields: the pasted config, then the run.
FIELDS = ("config", "seq_len", "batch", "weights", "kv_format", "lora_rank")
#: Row labels, by key (English; translated by llmedu.i18n).
ROW_LABELS = {
    "token_embeddings": "token embeddings", "attention": "attention", "qk_norms": "query and key norms",
    "ffn": "FFN", "router": "router", "norms": "norms", "final_norm": "final norm", "output_head": "output head",
    "inference": "inference: weights + KV cache", "full_mixed_adam": "full fine-tuning, Adam",
    "full_adam8bit": "full fine-tuning, 8-bit Adam", "lora": "LoRA, rank {rank}", "qlora": "QLoRA, rank {rank}",
}


def presets() -> dict[str, str]:
    """Each preset of :data:`llmedu.decoders.PRESETS` as the text of its ``config.json``.

    >>> json.loads(presets()["llama-3-8b"])["num_key_value_heads"]
    8
    """
    return {name: json.dumps(decoders.preset(name), indent=2) for name in decoders.PRESETS}


def defaults() -> dict[str, Any]:
    """The run the form starts with.

    >>> defaults()["weights"]
    'q4_k_m'
    """
    return {"seq_len": 4096, "batch": 1, "weights": "q4_k_m", "kv_format": "bf16", "lora_rank": 16}


def report(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters, memory (whole bytes), fit and speed of the decoder and run the form describes.

    >>> r = report({"config": presets()["llama-3-8b"], **defaults()})
    >>> r["total"], r["fit"]["qlora"]["fits"][:2]
    (8030261248, [16, 24])
    """
    missing = [name for name in FIELDS if name not in values]
    if missing:
        raise ValueError(f"missing fields: {', '.join(missing)}; the calculator needs {', '.join(FIELDS)}")
    config = model_config.parse(values["config"])
    if config["model_type"] not in decoders.FAMILIES:
        raise ValueError(f"this form sizes today's decoders ({', '.join(decoders.FAMILIES)}); "
                         f"for {config['model_type']}, use the form above")
    seq, batch, rank = (whole_field(name, values[name]) for name in ("seq_len", "batch", "lora_rank"))
    weights = checks.choice("weights format", values["weights"], gguf_recipes.WEIGHT_CHOICES)
    kv_format = checks.choice("KV cache format", values["kv_format"], kv_cache.KV_FORMATS)
    count = decoders.from_config(config, output_head="config")
    cache = kv_cache.cache_bytes(kv_cache.layout_from_config(config), seq, batch, kv_format)
    file_bytes = gguf_recipes.model_file_bytes(count, weights)
    fits = fit.will_it_fit(config, seq, batch, weights, kv_format, rank)
    read, n_matmul = gguf_recipes.bytes_read_per_step(count, weights), speed.matmul_params(count)
    bounds = {}
    for name, dev in speed.DEVICES.items():
        bound = speed.decode_tokens_per_second(read, cache / batch, n_matmul, batch, dev)
        bounds[name] = {"tokens_per_second": bound["tokens_per_second"], "limit": bound["limit"],
                        "prefill_tokens_per_second": speed.prefill_tokens_per_second(n_matmul, dev)}
    return {"model_type": config["model_type"], "seq_len": seq, "batch": batch, "weights": weights,
            "kv_format": kv_format, "lora_rank": rank,
            "components": {k: v for k, v in count.components.items() if v}, "per_layer": count.per_layer,
            "total": count.total, "active": count.active,
            "memory": {"weights": file_bytes, "kv_cache": int(cache), "inference": int(file_bytes + cache)},
            "fit": {scenario: {"bytes": int(found["bytes"]), "fits": found["fits"]} for scenario, found in fits.items()},
            "speed": bounds}


def report_html(values: dict[str, Any], lang: str = "en") -> str:
    """The report of :func:`report` as HTML tables, with labels and numbers in ``lang``.

    >>> page = report_html({"config": presets()["mixtral-8x7b"], **defaults()}, "cs")
    >>> '<tr data-key="active">' in page and fmt.number(46_702_792_704, ",", "cs") in page
    True
    """
    _ = i18n.translator(lang)
    r = report(values)
    total, number = r["total"], (lambda value, spec=",": fmt.number(value, spec, lang))
    rows = [f'<tr data-key="{k}"><th scope="row">{html.escape(_(ROW_LABELS[k]))}</th>'
            f'<td>{number(r["per_layer"][k]) if k in r["per_layer"] else ""}</td>'
            f"<td>{number(v)}</td><td>{number(v / total, '.1%')}</td></tr>" for k, v in r["components"].items()]
    rows.append(f'<tr data-key="total"><th scope="row">{html.escape(_("total"))}</th><td></td>'
                f"<td>{number(total)}</td><td>{number(1, '.1%')}</td></tr>")
    if r["active"] != total:
        rows.append(f'<tr data-key="active"><th scope="row">{html.escape(_("active per token"))}</th><td></td>'
                    f"<td>{number(r['active'])}</td><td>{number(r['active'] / total, '.1%')}</td></tr>")
    parts = [table_html(_("Parameters by component"), [_("component"), _("in each layer"), _("total"), _("share")],
                        rows, "parameters")]
    memory_rows = [size_row_html(_("weights in {format}").format(format=r["weights"]), r["memory"]["weights"], lang,
                                 "weights"),
                   size_row_html(_("KV cache in {format}").format(format=r["kv_format"]), r["memory"]["kv_cache"], lang,
                                 "kv_cache"),
                   size_row_html(_(ROW_LABELS["inference"]), r["memory"]["inference"], lang, "inference")]
    run = _("batch {batch}, sequence {seq}").format(batch=number(r["batch"]), seq=number(r["seq_len"]))
    parts.append(table_html(_("Inference") + f", {run}", [_("estimate"), _("bytes"), "MB", "MiB"], memory_rows,
                            "memory"))
    fit_rows = [f'<tr data-key="{scenario}"><th scope="row">'
                f'{html.escape(_(ROW_LABELS[scenario]).format(rank=number(r["lora_rank"])))}</th>'
                f"<td>{number(found['bytes'] / units.GiB, ',.1f')}</td>"
                f"<td>{', '.join(number(size) for size in found['fits']) or '-'}</td></tr>"
                for scenario, found in r["fit"].items()]
    parts.append(table_html(_("Will it fit? Memory sizes in GiB") + f", {run}",
                            [_("scenario"), _("needs (GiB)"), _("fits in (GiB)")], fit_rows, "fit"))
    speed_rows = [f'<tr data-key="{name}"><th scope="row">{html.escape(name)}</th>'
                  f"<td>{number(bound['tokens_per_second'], ',.1f')}</td><td>{html.escape(_(bound['limit']))}</td>"
                  f"<td>{number(bound['prefill_tokens_per_second'], ',.0f')}</td></tr>"
                  for name, bound in r["speed"].items()]
    parts.append(table_html(_("Speed bounds (roofline)") + f", {run}",
                            [_("device"), _("decode tokens/s at most"), _("bound by"), _("prefill tokens/s at most")],
                            speed_rows, "speed"))
    return "\n".join(parts)
