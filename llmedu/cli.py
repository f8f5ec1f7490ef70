"""The calculator on the command line: ``python -m llmedu params|memory|presets``.

Takes a preset (``--preset bert-base``, ``--preset llama-3-8b``), a Hugging Face ``config.json``
(``--config FILE``) or explicit sizes (``--family gpt2 --d-model 1024 ...``; sizes not given keep
the preset's, the file's or the family's defaults) and prints a per-component table with totals in
MB and MiB, or JSON with ``--json``. Bad input ends with one line on stderr that names the
problem, and exit status 2; no traceback.

Today's decoders (:mod:`llmedu.decoders`) are described by a preset or a config file, not by size
options; their memory report has the weights (in 16-bit and low-bit formats, with each format's
real overhead), the KV cache with grouped-query attention and the training states (activations and peaks: the BERT and GPT-2 shapes only, for now).
Leaves out everything that needs torch: it computes, it never builds a model.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any, Sequence

from llmedu import checks, decoders, memory, model_config, params, units, weight_formats

#: Command-line option -> our generic size name.
SIZE_OPTIONS = {"vocab": "vocab_size", "d_model": "d_model", "layers": "n_layers", "heads": "n_heads",
                "d_ff": "d_ff", "positions": "n_positions", "token_types": "n_token_types"}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"llmedu: error: {message} (see: python -m llmedu --help)\n")


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m llmedu``."""
    parser = _Parser(prog="python -m llmedu", description="Parameter and memory calculator for "
                     "BERT-style encoders, GPT-2-style decoders and today's decoders (Llama and others).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("presets", help="list the named model shapes")
    for name, helptext in (("params", "parameter count per component"),
                           ("memory", "weights, inference and training memory")):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("--preset", help="a named shape (see: python -m llmedu presets)")
        sub.add_argument("--config", metavar="FILE", help="a Hugging Face config.json, read offline")
        sub.add_argument("--family", help=f"model family when no preset is given: {', '.join(params.FAMILIES)} "
                         "(default bert)")
        for option in SIZE_OPTIONS:
            sub.add_argument("--" + option.replace("_", "-"), dest=option, type=_whole, metavar="N")
        sub.add_argument("--untied-head", action="store_true", help="add an untied output head (vocab x d_model)")
        sub.add_argument("--json", action="store_true", help="print JSON instead of tables")
        if name == "memory":
            sub.add_argument("--seq", type=_whole, metavar="N", help="sequence length (default: the model's positions)")
            sub.add_argument("--batch", type=_whole, metavar="N", default=1, help="batch size (default 1)")
            sub.add_argument("--dtype", default="fp32", help=f"weights format: {', '.join(units.DTYPE_BYTES)} (default fp32)")
    return parser


def decoder_from_args(args: argparse.Namespace) -> tuple[str, decoders.DecoderShape] | None:
    """The modern decoder a preset or config file names, and a label; ``None`` for the classic shapes."""
    if sum(x is not None for x in (args.preset, args.config, args.family)) > 1:
        raise ValueError("give one of --preset, --config and --family")
    if args.config is not None:
        config, label = model_config.load(args.config), args.config
    elif args.preset is not None:
        config, label = model_config.preset(args.preset), args.preset
    else:
        return None
    if config["model_type"] not in decoders.FAMILIES:
        return None
    given = [option for option in SIZE_OPTIONS if getattr(args, option) is not None] + \
        (["untied_head"] if args.untied_head else [])
    if given:
        raise ValueError(f"size options (--{given[0].replace('_', '-')}) apply to {', '.join(params.FAMILIES)}; "
                         f"for {config['model_type']}, change the config file instead")
    return label, decoders.shape_from_config(config)


def shape_from_args(args: argparse.Namespace) -> tuple[str, params.TransformerShape]:
    """The model shape the options describe, and a label for it."""
    if args.preset is not None or args.config is not None:
        if args.family is not None:
            raise ValueError("give one of --preset, --config and --family")
        config = model_config.load(args.config) if args.config is not None else model_config.preset(args.preset)
        base = params.shape_from_config(config)
        label = args.preset if args.preset is not None else args.config
    else:
        family = checks.choice("family", "bert" if args.family is None else args.family, params.FAMILIES)
        base = params.shape_from_config({"model_type": family})
        label = f"custom {family}"
    sizes = {ours: getattr(base, ours) for ours in ("vocab_size", "d_model", "n_layers", "n_heads",
                                                    "d_ff", "n_positions", "n_token_types")}
    for option, ours in SIZE_OPTIONS.items():
        if getattr(args, option) is not None:
            sizes[ours] = getattr(args, option)
    if args.d_model is not None and args.d_ff is None and base.family == "gpt2":
        sizes["d_ff"] = 4 * args.d_model  # GPT-2's n_inner=None follows the width
    head = "untied" if args.untied_head else "none"
    return label, params.shape(base.family, output_head=head, **sizes)


def _describe(label: str, s: params.TransformerShape) -> str:
    return (f"{label} ({s.family}, {s.architecture}): vocab {s.vocab_size:,} | d_model {s.d_model:,} | "
            f"layers {s.n_layers} | heads {s.n_heads} | d_ff {s.d_ff:,} | positions {s.n_positions:,} | "
            f"token types {s.n_token_types}")


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def params_result(label: str, s: params.TransformerShape) -> dict[str, Any]:
    """Everything ``params`` prints, as plain data."""
    count = params.count(s)
    article = params.article_formula(s.vocab_size, s.d_model, s.n_layers, s.d_ff)
    return {"model": label, "shape": asdict(s), "per_layer": count.per_layer, "components": count.components,
            "total": count.total, "article_formula": asdict(article),
            "weights_bytes": {dtype: memory.weights_bytes(count.total, dtype) for dtype in units.DTYPE_BYTES}}


def format_params(result: dict[str, Any]) -> str:
    """The ``params`` tables as text."""
    total = result["total"]
    rows = [("component", "per layer", "total", "share")]
    for name, value in result["components"].items():
        if value:
            per_layer = result["per_layer"].get(name)
            rows.append((name, f"{per_layer:,}" if per_layer is not None else "", f"{value:,}",
                         f"{100 * value / total:.1f}%"))
    rows.append(("total", f"{sum(result['per_layer'].values()):,}", f"{total:,}", "100.0%"))
    article = result["article_formula"]
    weights = [("weights", "bytes", "MB (10^6 B)", "MiB (2^20 B)")]
    weights += [(dtype, f"{b:,.0f}", f"{units.to_mb(b):,.1f}", f"{units.to_mib(b):,.1f}")
                for dtype, b in result["weights_bytes"].items()]
    return "\n\n".join([
        _describe(result["model"], params.TransformerShape(**result["shape"])),
        _table(rows),
        "The article's simplified formula (V*d + N*(4d^2 + 2*d*d_ff + d + d_ff + 4d)): "
        f"{article['total']:,} ({article['total'] - total:+,} against the exact count)",
        _table(weights),
    ])


def format_memory(label: str, s: params.TransformerShape, result: dict[str, Any]) -> str:
    """The ``memory`` tables as text."""
    sections = [_describe(label, s) + f"\nbatch {result['batch']} | sequence {result['seq_len']:,} | "
                f"weights in {result['dtype']} | {result['n_params']:,} parameters"]
    titles = {"weights_by_dtype": "weights by format", "inference": f"inference ({result['dtype']})",
              "training_states": "training model states (no activations)",
              "activations_per_layer": "activations per layer (16-bit)",
              "training_totals": "training, all layers"}
    for key, title in titles.items():
        rows = [(title, "bytes", "size")]
        rows += [(name, f"{b:,.0f}", units.describe_size(b)) for name, b in result[key].items()]
        sections.append(_table(rows))
    return "\n\n".join(sections)


def decoder_params_result(label: str, s: decoders.DecoderShape) -> dict[str, Any]:
    """Everything ``params`` prints for a modern decoder (with its head as the config says), as plain data."""
    count = decoders.count(s, output_head="config")
    return {"model": label, "shape": asdict(s), "per_layer": count.per_layer, "components": count.components,
            "total": count.total, "active_per_token": count.active,
            "weights_bytes": {dtype: memory.weights_bytes(count.total, dtype) for dtype in units.DTYPE_BYTES}}


def _describe_decoder(label: str, s: decoders.DecoderShape) -> str:
    experts = f" | experts {s.n_experts}, {s.experts_per_token} per token" if s.n_experts else ""
    return (f"{label} ({s.family}, decoder): vocab {s.vocab_size:,} | d_model {s.d_model:,} | layers {s.n_layers} | "
            f"heads {s.n_heads}, key/value heads {s.n_kv_heads} of width {s.head_dim} | d_ff {s.d_ff:,}{experts} | "
            f"head {'tied' if s.tie_word_embeddings else 'untied'}")


def format_decoder_params(result: dict[str, Any]) -> str:
    """The ``params`` tables of a modern decoder as text."""
    s, total = decoders.DecoderShape(**result["shape"]), result["total"]
    rows = [("component", "per layer", "total", "share")]
    rows += [(name, f"{result['per_layer'][name]:,}" if name in result["per_layer"] else "", f"{value:,}",
              f"{100 * value / total:.1f}%") for name, value in result["components"].items() if value]
    rows.append(("total", f"{sum(result['per_layer'].values()):,}", f"{total:,}", "100.0%"))
    if result["active_per_token"] != total:
        rows.append(("active per token", "", f"{result['active_per_token']:,}",
                     f"{100 * result['active_per_token'] / total:.1f}%"))
    weights = [("weights", "bytes", "MB (10^6 B)", "MiB (2^20 B)")]
    weights += [(dtype, f"{b:,.0f}", f"{units.to_mb(b):,.1f}", f"{units.to_mib(b):,.1f}")
                for dtype, b in result["weights_bytes"].items()]
    return "\n\n".join([_describe_decoder(result["model"], s), _table(rows), _table(weights)])


#: The low-bit formats the memory report of a modern decoder prices, with their real overhead.
LOW_BIT_FORMATS = ("q8_0", "q6_k", "q4_k", "q4_0", "nf4_double_quant", "gptq_4bit_g128")


def decoder_memory_result(label: str, s: decoders.DecoderShape, batch: int, seq_len: int | None,
                          dtype: str) -> dict[str, Any]:
    """The weights, the KV cache (grouped-query attention) and the training states of a modern decoder."""
    if seq_len is None:
        raise ValueError(f"give the sequence length with --seq for {s.family} (its config sets no single context)")
    count = decoders.count(s, output_head="config")
    n = count.total
    kv = {"per_token": memory.kv_cache_bytes(s.n_layers, s.d_model, 1, 1, dtype, kv_width=s.kv_width),
          "batch_and_sequence": memory.kv_cache_bytes(s.n_layers, s.d_model, seq_len, batch, dtype, kv_width=s.kv_width)}
    return memory.whole_bytes({"model": label, "shape": asdict(s), "n_params": n, "dtype": dtype,
            "batch": checks.positive_int("batch", batch), "seq_len": checks.positive_int("seq_len", seq_len),
            "weights_by_dtype": {name: memory.weights_bytes(n, name) for name in units.DTYPE_BYTES},
            "weights_in_low_bit_formats": {name: weight_formats.file_bytes(count.components, name)
                                           for name in LOW_BIT_FORMATS},
            "kv_cache": kv,
            "training_states": {scheme: sum(memory.training_states(n, scheme).values())
                                for scheme in memory.TRAINING_STATES}})


def format_decoder_memory(result: dict[str, Any]) -> str:
    """The ``memory`` tables of a modern decoder as text."""
    sections = [_describe_decoder(result["model"], decoders.DecoderShape(**result["shape"]))
                + f"\nbatch {result['batch']} | sequence {result['seq_len']:,} | weights and cache in {result['dtype']}"
                  f" | {result['n_params']:,} parameters"]
    titles = {"weights_by_dtype": "weights by format",
              "weights_in_low_bit_formats": "weights in low-bit formats (embeddings, head, norms in bf16)",
              "kv_cache": f"KV cache ({result['dtype']})",
              "training_states": "training model states (no activations)"}
    for key, title in titles.items():
        rows = [(title, "bytes", "size")]
        rows += [(name, f"{b:,.0f}", units.describe_size(b)) for name, b in result[key].items()]
        sections.append(_table(rows))
    return "\n\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "presets":
            for name, (family, _, description) in params.PRESETS.items():
                print(f"{name:14} {family:11} {params.from_config(params.preset(name)).total:>17,}  {description}")
            for name, (family, _, description) in decoders.PRESETS.items():
                total = decoders.from_config(decoders.preset(name), output_head="config").total
                print(f"{name:14} {family:11} {total:>17,}  {description}")
            return 0
        decoder = decoder_from_args(args)
        if decoder is not None:
            label, d = decoder
            if args.command == "params":
                result = decoder_params_result(label, d)
                print(json.dumps(result, indent=2) if args.json else format_decoder_params(result))
            else:
                result = decoder_memory_result(label, d, args.batch, args.seq, checks.choice("dtype", args.dtype,
                                                                                           units.DTYPE_BYTES))
                print(json.dumps(result, indent=2) if args.json else format_decoder_memory(result))
            return 0
        label, s = shape_from_args(args)
        if args.command == "params":
            result = params_result(label, s)
            print(json.dumps(result, indent=2) if args.json else format_params(result))
        else:
            result = memory.report(params.count(s), batch=args.batch, seq_len=args.seq, dtype=args.dtype)
            print(json.dumps({"model": label, "shape": asdict(s), **result}, indent=2) if args.json
                  else format_memory(label, s, result))
    except ValueError as error:
        print(f"llmedu: error: {error}", file=sys.stderr)
        return 2
    return 0
