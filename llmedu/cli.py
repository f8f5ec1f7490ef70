"""The calculator on the command line: ``python -m llmedu params|memory|fit|speed|presets``.

Takes a preset (``--preset bert-base``, ``--preset llama-3-8b``), a Hugging Face ``config.json``
(``--config FILE``) or explicit sizes (``--family gpt2 --d-model 1024 ...``; sizes not given keep
the preset's, the file's or the family's defaults) and prints a per-component table with totals in
MB and MiB, or JSON with ``--json``. Bad input ends with one line on stderr that names the
problem, and exit status 2; no traceback.

Today's decoders (:mod:`llmedu.decoders`) are described by a preset or a config file, not by size
options. Their memory report has the weights (in 16-bit and low-bit formats, with each format's
real overhead), the KV cache (grouped-query attention, sliding windows, low-bit caches), the
activations of fine-tuning and its peak for full, 8-bit-Adam, LoRA and QLoRA fine-tuning. ``fit``
says which memory sizes hold inference and each kind of fine-tuning; ``speed`` bounds decoding and
prefill on three devices. Leaves out everything that needs torch: it computes, it never builds a model.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any, Sequence

from llmedu import checks, decoders, finetuning, fit, gguf_recipes, kv_cache, memory, model_config, params, speed, units

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


def _model_options(sub: argparse.ArgumentParser, sizes: bool) -> None:
    sub.add_argument("--preset", help="a named shape (see: python -m llmedu presets)")
    sub.add_argument("--config", metavar="FILE", help="a Hugging Face config.json, read offline")
    if sizes:
        sub.add_argument("--family", help=f"model family when no preset is given: {', '.join(params.FAMILIES)} "
                         "(default bert)")
        for option in SIZE_OPTIONS:
            sub.add_argument("--" + option.replace("_", "-"), dest=option, type=_whole, metavar="N")
        sub.add_argument("--untied-head", action="store_true", help="add an untied output head (vocab x d_model)")
    sub.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _decoder_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--kv-dtype", default="bf16", help=f"KV cache format: {', '.join(kv_cache.KV_FORMATS)} (default bf16)")
    sub.add_argument("--lora-rank", type=_whole, metavar="R", default=16, help="LoRA and QLoRA rank (default 16)")
    sub.add_argument("--no-checkpointing", action="store_true", help="fine-tune without gradient checkpointing")
    sub.add_argument("--attention", default="sdpa", help="attention kernel for activations: sdpa (no s^2 term) "
                     "or eager (default sdpa)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m llmedu``."""
    parser = _Parser(prog="python -m llmedu", description="Parameter and memory calculator for "
                     "BERT-style encoders, GPT-2-style decoders and today's decoders (Llama and others).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("presets", help="list the named model shapes")
    for name, helptext in (("params", "parameter count per component"),
                           ("memory", "weights, inference and training memory")):
        sub = commands.add_parser(name, help=helptext)
        _model_options(sub, sizes=True)
        if name == "memory":
            sub.add_argument("--seq", type=_whole, metavar="N", help="sequence length (default: the model's positions)")
            sub.add_argument("--batch", type=_whole, metavar="N", default=1, help="batch size (default 1)")
            sub.add_argument("--dtype", default="fp32", help=f"weights format: {', '.join(units.DTYPE_BYTES)} (default fp32)")
            _decoder_options(sub)
    for name, helptext in (("fit", "which memory sizes hold a modern decoder for inference and fine-tuning"),
                           ("speed", "bounds on a modern decoder's decoding and prefill speed per device")):
        sub = commands.add_parser(name, help=helptext)
        _model_options(sub, sizes=False)
        sub.add_argument("--seq", type=_whole, metavar="N", required=True, help="context length in tokens")
        sub.add_argument("--batch", type=_whole, metavar="N", default=1, help="sequences at once (default 1)")
        sub.add_argument("--format", default="bf16", help="weights format: "
                         f"{', '.join(gguf_recipes.WEIGHT_CHOICES)} (default bf16; GGUF types as llama.cpp writes them, "
                         "NF4, GPTQ and AWQ with embeddings, head and norms in bf16)")
        _decoder_options(sub)
        if name == "fit":
            sub.add_argument("--memory-gib", default=",".join(map(str, fit.MEMORY_SIZES_GIB)), metavar="LIST",
                             help="memory sizes in GiB, comma-separated (default %(default)s)")
        else:
            sub.add_argument("--device", help=f"one device: {', '.join(speed.DEVICES)} (default: all)")
    return parser


def decoder_from_args(args: argparse.Namespace) -> tuple[str, dict[str, Any]] | None:
    """The config of the modern decoder a preset or config file names, and a label; ``None`` for the classic shapes."""
    if sum(getattr(args, x, None) is not None for x in ("preset", "config", "family")) > 1:
        raise ValueError("give one of --preset, --config and --family")
    if args.config is not None:
        config, label = model_config.load(args.config), args.config
    elif args.preset is not None:
        config, label = model_config.preset(args.preset), args.preset
    elif args.command in ("fit", "speed"):
        raise ValueError(f"give the model with --preset or --config (one of: {', '.join(decoders.PRESETS)})")
    else:
        return None
    if config["model_type"] not in decoders.FAMILIES:
        if args.command in ("fit", "speed"):
            raise ValueError(f"{args.command} sizes today's decoders ({', '.join(decoders.FAMILIES)}); "
                             f"{label} is a {config['model_type']}: use memory")
        return None
    given = [option for option in SIZE_OPTIONS if getattr(args, option, None) is not None] + \
        (["untied_head"] if getattr(args, "untied_head", False) else [])
    if given:
        raise ValueError(f"size options (--{given[0].replace('_', '-')}) apply to {', '.join(params.FAMILIES)}; "
                         f"for {config['model_type']}, change the config file instead")
    decoders.shape_from_config(config)  # checks the sizes
    return label, config


def shape_from_args(args: argparse.Namespace) -> tuple[str, params.TransformerShape]:
    """The model shape the options describe, and a label for it."""
    if args.preset is not None or args.config is not None:  # decoder_from_args has checked the options
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
LOW_BIT_FORMATS = ("q8_0", "q6_k", "q4_k_m", "q4_0", "nf4_double_quant", "gptq_4bit_g128")


def decoder_memory_result(label: str, config: dict[str, Any], batch: int, seq_len: int | None, dtype: str,
                          kv_dtype: str = "bf16", lora_rank: int = 16, checkpointing: bool = True,
                          attention: str = "sdpa") -> dict[str, Any]:
    """Weights, KV cache (grouped-query attention, sliding windows) and fine-tuning memory of a modern decoder."""
    s = decoders.shape_from_config(config)
    if seq_len is None:
        raise ValueError(f"give the sequence length with --seq for {s.family} (its config sets no single context)")
    checks.positive_int("seq_len", seq_len)
    count = decoders.count(s, output_head="config")
    n = count.total
    layout = kv_cache.layout_from_config(config)
    result = {"model": label, "shape": asdict(s), "n_params": n, "dtype": dtype, "kv_dtype": kv_dtype,
              "batch": checks.positive_int("batch", batch), "seq_len": seq_len,
              "sliding_window": {"window": layout.sliding_window, "layers": layout.n_sliding},
              "weights_by_dtype": {name: memory.weights_bytes(n, name) for name in units.DTYPE_BYTES},
              "weights_in_low_bit_formats": {name: gguf_recipes.model_file_bytes(count, name)
                                             for name in LOW_BIT_FORMATS},
              "kv_cache": {"per_token": kv_cache.per_token_bytes(layout, kv_dtype),
                           "batch_and_sequence": kv_cache.cache_bytes(layout, seq_len, batch, kv_dtype)},
              "kv_cache_by_format": {name: kv_cache.cache_bytes(layout, seq_len, batch, name)
                                     for name in kv_cache.KV_FORMATS},
              "training_states": {scheme: sum(memory.training_states(n, scheme).values())
                                  for scheme in memory.TRAINING_STATES}}
    if s.family in finetuning.ACTIVATION_FAMILIES:
        result["fine_tuning_activations"] = finetuning.activation_bytes(s, batch, seq_len, attention, checkpointing)
        result["fine_tuning_peak"] = {method: finetuning.training_peak(count, method, batch, seq_len, attention,
                                                                       checkpointing, lora_rank)
                                      for method in finetuning.METHODS}
    return memory.whole_bytes(result)


def _sections(result: dict[str, Any], titles: dict[str, str]) -> list[str]:
    sections = []
    for key, title in titles.items():
        if key in result:
            rows = [(title, "bytes", "size")]
            rows += [(name, f"{b:,.0f}", units.describe_size(b)) for name, b in result[key].items()]
            sections.append(_table(rows))
    return sections


def format_decoder_memory(result: dict[str, Any]) -> str:
    """The ``memory`` tables of a modern decoder as text."""
    window = result["sliding_window"]
    slides = (f"{window['layers']} of {result['shape']['n_layers']} layers attend to the last "
              f"{window['window']:,} tokens" if window["layers"] else "no sliding window")
    head = (_describe_decoder(result["model"], decoders.DecoderShape(**result["shape"]))
            + f"\nbatch {result['batch']} | sequence {result['seq_len']:,} | weights in {result['dtype']}, "
              f"KV cache in {result['kv_dtype']} | {slides} | {result['n_params']:,} parameters")
    return "\n\n".join([head, *_sections(result, {
        "weights_by_dtype": "weights by format",
        "weights_in_low_bit_formats": "weights in low-bit formats (GGUF as llama.cpp writes it; NF4, GPTQ with embeddings, head, norms in bf16)",
        "kv_cache": f"KV cache ({result['kv_dtype']})",
        "kv_cache_by_format": "KV cache by format (batch and sequence)",
        "training_states": "training model states (no activations)",
        "fine_tuning_activations": "fine-tuning activations (bf16, saved for backward)",
        "fine_tuning_peak": "fine-tuning peak (model states, activations, loss)"})])


def _decoder_config(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    found = decoder_from_args(args)
    assert found is not None  # fit and speed raise for other models
    return found


def fit_result(args: argparse.Namespace) -> dict[str, Any]:
    """Everything ``fit`` prints, as plain data."""
    label, config = _decoder_config(args)
    try:
        sizes = tuple(float(part) for part in args.memory_gib.split(","))
    except ValueError:
        raise ValueError(f"--memory-gib must be numbers in GiB separated by commas, got {args.memory_gib!r}") from None
    sizes = tuple(int(size) if size.is_integer() else size for size in sizes)
    found = fit.will_it_fit(config, args.seq, args.batch, args.format, args.kv_dtype, args.lora_rank,
                            not args.no_checkpointing, sizes, args.attention)
    return memory.whole_bytes({"model": label, "seq_len": args.seq, "batch": args.batch, "format": args.format,
                               "kv_dtype": args.kv_dtype, "memory_gib": list(sizes), "scenarios": found})


def format_fit(result: dict[str, Any]) -> str:
    """The ``fit`` table as text."""
    rows = [("scenario", "needs", *(f"{size} GiB" for size in result["memory_gib"]))]
    for scenario, found in result["scenarios"].items():
        rows.append((scenario, units.describe_size(found["bytes"]),
                     *("fits" if size in found["fits"] else "-" for size in result["memory_gib"])))
    return "\n\n".join([f"{result['model']}: {result['seq_len']:,} tokens x {result['batch']} | weights in "
                        f"{result['format']}, KV cache in {result['kv_dtype']} | fine-tuning: the model in bf16, fp32 master weights",
                        _table(rows)])


def speed_result(args: argparse.Namespace) -> dict[str, Any]:
    """Everything ``speed`` prints, as plain data."""
    label, config = _decoder_config(args)
    count = decoders.from_config(config, output_head="config")
    read = gguf_recipes.bytes_read_per_step(count, args.format)
    cache = kv_cache.cache_bytes(kv_cache.layout_from_config(config), args.seq, 1, args.kv_dtype)
    n_matmul = speed.matmul_params(count)
    names = [args.device] if args.device is not None else list(speed.DEVICES)
    devices = {}
    for name in names:
        dev = speed.device(name)
        devices[name] = {**speed.decode_tokens_per_second(read, cache, n_matmul, args.batch, dev),
                         "prefill_tokens_per_second": speed.prefill_tokens_per_second(n_matmul, dev),
                         "prefill_tokens_per_second_int8": (speed.prefill_tokens_per_second(n_matmul, dev, "int8")
                                                            if dev.int8_ops else None),
                         "balance_batch": speed.balance_batch(read, n_matmul, dev), "source": dev.source}
    return {"model": label, "seq_len": args.seq, "batch": args.batch, "format": args.format,
            "kv_dtype": args.kv_dtype, "weight_bytes_read_per_step": read, "cache_bytes_per_sequence": cache,
            "matmul_params": n_matmul, "devices": devices}


def format_speed(result: dict[str, Any]) -> str:
    """The ``speed`` table as text."""
    rows = [("device", "decode tokens/s at most", "bound by", "prefill tokens/s at most: bf16", "int8",
             "compute-bound from batch")]
    for name, d in result["devices"].items():
        int8 = d["prefill_tokens_per_second_int8"]
        rows.append((name, f"{d['tokens_per_second']:,.1f}", d["limit"], f"{d['prefill_tokens_per_second']:,.0f}",
                     "-" if int8 is None else f"{int8:,.0f}", f"{d['balance_batch']:,.0f}"))
    sources = [f"{name}: {d['source']}" for name, d in result["devices"].items()]
    return "\n\n".join([f"{result['model']}: batch {result['batch']}, {result['seq_len']:,} tokens of context | "
                        f"a step reads {units.describe_size(result['weight_bytes_read_per_step'])} of weights in "
                        f"{result['format']} and {units.describe_size(result['cache_bytes_per_sequence'])} of "
                        f"KV cache per sequence in {result['kv_dtype']}",
                        _table(rows), "Upper bounds (roofline): bandwidth / bytes read per step; theoretical peak "
                        "/ 2N operations per token (bf16 arithmetic, or kernels that multiply in int8).\n"
                        + "\n".join(sources)])


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
        if args.command in ("fit", "speed"):
            result = fit_result(args) if args.command == "fit" else speed_result(args)
            print(json.dumps(result, indent=2) if args.json else
                  (format_fit if args.command == "fit" else format_speed)(result))
            return 0
        decoder = decoder_from_args(args)
        if decoder is not None:
            label, config = decoder
            if args.command == "params":
                result = decoder_params_result(label, decoders.shape_from_config(config))
                print(json.dumps(result, indent=2) if args.json else format_decoder_params(result))
            else:
                result = decoder_memory_result(label, config, args.batch, args.seq,
                                               checks.choice("dtype", args.dtype, units.DTYPE_BYTES), args.kv_dtype,
                                               args.lora_rank, not args.no_checkpointing, args.attention)
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
