"""The live calculator's Python (llmedu.calculator): its numbers, its errors, and the files the browser gets.

The page itself, in a browser, is tested in ``test_browser.py``; here the report is held against
the command line's computation, and the set of modules the site serves is checked to be enough
to import ``llmedu.calculator`` on its own (as Pyodide will, with nothing else installed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmedu import calculator, calculator_decoders, calculator_widgets, cli, decoders, fmt, i18n, memory, params

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import calculator as site_files  # noqa: E402  (book/_ext/calculator.py, the extension)


@pytest.mark.parametrize("name", list(params.PRESETS))
def test_report_agrees_with_the_command_line(name: str) -> None:
    values = calculator.presets()[name]
    values.update(seq_len=min(512, values["n_positions"]), batch=4, dtype="fp16")
    result = calculator.report(values)
    args = cli.build_parser().parse_args(["memory", "--preset", name])
    _, shape = cli.shape_from_args(args)
    expected = memory.report(params.count(shape), batch=4, seq_len=values["seq_len"], dtype="fp16")
    assert result["total"] == params.count(shape).total == expected["n_params"]
    assert result["inference"] == expected["inference"]
    assert result["training"]["peak_article"] == expected["training_totals"]["article_peak"]
    activations = expected["training_totals"]["korthikanti_activations"]
    if shape.architecture == "decoder":  # one regime: fp32 states, 16-bit activations, the fp32 loss of an LM head
        loss = memory.lm_loss_bytes(4, values["seq_len"], shape.vocab_size)
        assert result["training"]["lm_loss_peak"] == 12 * 4 * values["seq_len"] * shape.vocab_size
        assert result["training"]["peak_corrected"] == memory.peak_training(
            result["total"], activations + loss["saved"], "autocast_adam", loss["backward_extra"])
    else:
        assert "lm_loss_peak" not in result["training"]
        assert result["training"]["peak_corrected"] == memory.peak_training(result["total"], activations, "autocast_adam")


@pytest.mark.parametrize("lang", fmt.LANGUAGES)
def test_the_report_speaks_the_page_language(lang: str) -> None:
    page = calculator.report_html({**calculator.presets()["bert-base"], "seq_len": 128, "batch": 8}, lang)
    total = params.from_config(params.preset("bert-base")).total
    assert f'<tr data-key="total">' in page and fmt.number(total, ",", lang) in page


@pytest.mark.parametrize(("change", "message"), [
    ({"n_heads": 7}, "must be divisible by n_heads"),
    ({"seq_len": 5000}, "must not exceed the model's positions"),
    ({"batch": "many"}, "batch must be a whole number"),
    ({"dtype": "fp8"}, "unknown dtype 'fp8'; allowed: fp32, fp16, bf16, int8, int4"),
    ({"family": "llama"}, "unknown family 'llama'"),
])
def test_bad_input_says_what_is_allowed(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calculator.report({**calculator.presets()["gpt2"], **change})


# --- today's decoders from a pasted config.json (llmedu.calculator_decoders) ----------------------

@pytest.mark.parametrize("name", list(decoders.PRESETS))
def test_decoder_report_agrees_with_the_command_line(name: str) -> None:
    context = min(4096, decoders.preset(name)["max_position_embeddings"])
    values = {"config": calculator_decoders.presets()[name], **calculator_decoders.defaults(), "seq_len": str(context),
              "batch": "2"}
    result = calculator_decoders.report(values)
    args = ["--preset", name, "--seq", str(context), "--batch", "2", "--format", "q4_k_m"]
    fit = cli.fit_result(cli.build_parser().parse_args(["fit", *args]))
    speed = cli.speed_result(cli.build_parser().parse_args(["speed", *args]))
    count = decoders.from_config(decoders.preset(name), output_head="config")
    assert (result["total"], result["active"]) == (count.total, count.active)
    assert {k: v["bytes"] for k, v in result["fit"].items()} == {k: v["bytes"] for k, v in fit["scenarios"].items()}
    assert {k: v["fits"] for k, v in result["fit"].items()} == {k: v["fits"] for k, v in fit["scenarios"].items()}
    for device, bound in result["speed"].items():
        assert bound["tokens_per_second"] == speed["devices"][device]["tokens_per_second"]


@pytest.mark.parametrize("lang", fmt.LANGUAGES)
def test_the_decoder_report_speaks_the_page_language(lang: str) -> None:
    page = calculator_decoders.report_html({"config": calculator_decoders.presets()["mixtral-8x7b"],
                                            **calculator_decoders.defaults()}, lang)
    count = decoders.from_config(decoders.preset("mixtral-8x7b"), output_head="config")
    assert fmt.number(count.total, ",", lang) in page and fmt.number(count.active, ",", lang) in page
    assert i18n.translate("active per token", lang) in page


@pytest.mark.parametrize(("change", "message"), [
    ({"config": "{not json"}, "the pasted text is not JSON"),
    ({"config": " "}, "the pasted text is empty"),
    ({"config": '{"model_type": "falcon"}'}, "has model_type 'falcon'; allowed: bert"),
    ({"config": '{"model_type": "bert"}'}, "for bert, use the form above"),
    ({"config": '{"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5}'},
     "must be a multiple of num_key_value_heads"),
    ({"seq_len": "32768"}, "a context of 32,768 tokens exceeds the model's 8,192"),
    ({"weights": "q4_k"}, "unknown weights format 'q4_k'; allowed: q8_0"),
    ({"kv_format": "int2"}, "unknown KV cache format 'int2'"),
    ({"lora_rank": "0"}, "lora_rank must be a whole number >= 1"),
    ({"batch": "many"}, "batch must be a whole number"),
])
def test_bad_decoder_input_says_what_is_allowed(change: dict, message: str) -> None:
    values = {"config": calculator_decoders.presets()["llama-3-8b"], **calculator_decoders.defaults(), **change}
    with pytest.raises(ValueError, match=message) as error:
        calculator_decoders.report(values)
    assert "\n" not in str(error.value)


def test_the_served_modules_are_enough_to_run_the_calculator(tmp_path: Path) -> None:
    """Only the files the site serves, in a folder of their own: the import and a report must work."""
    package = tmp_path / "llmedu"
    for name in site_files.package_files():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_bytes((site_files.PACKAGE / name).read_bytes())
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
            "from llmedu import calculator, calculator_decoders as decoders\n"
            f"assert calculator.__file__.startswith({str(tmp_path)!r}), calculator.__file__\n"
            "assert decoders.report_html({'config': decoders.presets()['llama-3-8b'], **decoders.defaults()}, 'hi')\n"
            "print(calculator.report_html(calculator.presets()['gpt2'], 'bn')[:40])")
    # -S: no site-packages (so not the installed llmedu, nor any third-party package), -E: no PYTHON* variables
    result = subprocess.run([sys.executable, "-S", "-E", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<table")


# --- the same calculator as Jupyter widgets (llmedu.calculator_widgets) -------------------------

@pytest.mark.parametrize("name", list(params.PRESETS))
def test_choosing_a_preset_fills_the_form_and_reports_once(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    form = calculator_widgets.Calculator("bert-tiny" if name != "bert-tiny" else "gpt2")
    reports = []
    real = calculator.report_html
    monkeypatch.setattr(calculator, "report_html", lambda values, lang: reports.append(values) or real(values, lang))
    form.preset.value = name
    assert form.values() == calculator.presets()[name]
    assert len(reports) == 1, "one report per chosen preset, not one per field"
    assert form.result() == calculator.report(calculator.presets()[name])
    assert form.output.value == real(calculator.presets()[name], "en")


@pytest.mark.parametrize("lang", fmt.LANGUAGES)
def test_the_widgets_speak_the_notebook_language(lang: str) -> None:
    form = calculator_widgets.Calculator("bert-base", lang)
    assert form.fields["batch"].description == i18n.translate("Batch size", lang)
    assert form.output.value == calculator.report_html(calculator.presets()["bert-base"], lang)
    form.fields["vocab_size"].value = 0
    assert i18n.translate(calculator_widgets.INVALID, lang) in form.output.value
    assert "vocab_size must be" in form.output.value  # llmedu's own message, below the translated line
    form.fields["vocab_size"].value = 30522
    assert form.output.value == calculator.report_html(calculator.presets()["bert-base"], lang)


@pytest.mark.parametrize(("make", "formulas", "text"), [
    (lambda: calculator_widgets.Calculator("gpt2", seq_len=1024, batch=8, dtype="fp16"), calculator,
     "llmedu calculator: gpt2, fp16, batch 8, sequence 1024"),
    (lambda: calculator_widgets.DecoderCalculator("qwen3-8b", weights="q8_0", kv_format="int8_g64", seq_len=32768),
     calculator_decoders, "llmedu decoder calculator: qwen3-8b, q8_0, KV cache int8_g64, batch 1, sequence 32768"),
])
def test_a_static_page_gets_the_report_and_jupyter_the_form(make, formulas, text: str) -> None:
    form = make()
    bundle = form._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == form.box.model_id
    assert bundle["text/html"] == formulas.report_html(form.values(), "en")
    assert bundle["text/plain"] == text


@pytest.mark.parametrize(("args", "message"), [
    ({"preset": "gpt-5"}, "unknown preset 'gpt-5'; allowed: "),
    ({"batch_size": 8}, "unknown calculator fields: batch_size; allowed: family, "),
    ({"dtype": "fp12"}, "unknown dtype 'fp12'; allowed: "),
])
def test_bad_starting_values_say_what_is_allowed(args: dict, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        calculator_widgets.Calculator(**args)


# --- the decoder form as Jupyter widgets (llmedu.calculator_widgets.DecoderCalculator) --------

@pytest.mark.parametrize("name", list(decoders.PRESETS))
def test_choosing_a_decoder_preset_pastes_its_config_and_reports_once(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    form = calculator_widgets.DecoderCalculator("smollm2-135m" if name != "smollm2-135m" else "llama-3-8b")
    reports = []
    real = calculator_decoders.report_html
    monkeypatch.setattr(calculator_decoders, "report_html", lambda values, lang: reports.append(values) or real(values, lang))
    form.preset.value = name
    expected = {"config": calculator_decoders.presets()[name], **calculator_decoders.defaults()}
    assert form.values() == expected
    assert len(reports) == 1, "one report per chosen preset"
    assert form.result() == calculator_decoders.report(expected)
    assert form.output.value == real(expected, "en")


@pytest.mark.parametrize("lang", fmt.LANGUAGES)
def test_the_decoder_widgets_speak_the_notebook_language_and_read_a_pasted_config(lang: str) -> None:
    form = calculator_widgets.DecoderCalculator("mistral-7b", lang, batch=4)
    assert form.fields["kv_format"].description == i18n.translate("KV cache format", lang)
    assert form.fields["lora_rank"].description == i18n.translate("LoRA rank", lang)
    config = json.loads(calculator_decoders.presets()["llama-3-8b"])
    config["num_key_value_heads"] = 5  # 32 heads are not a multiple of 5
    form.fields["config"].value = json.dumps(config)
    assert i18n.translate(calculator_widgets.INVALID, lang) in form.output.value
    assert "num_key_value_heads" in form.output.value
    config["num_key_value_heads"] = 4  # a pasted config the presets do not have
    form.fields["config"].value = json.dumps(config)
    values = {"config": json.dumps(config), **calculator_decoders.defaults(), "batch": 4}
    assert form.output.value == calculator_decoders.report_html(values, lang)
    assert form.result()["total"] == decoders.from_config(config, output_head="config").total


@pytest.mark.parametrize(("args", "message"), [
    ({"preset": "gpt2"}, "unknown preset 'gpt2'; allowed: llama-3-8b, "),
    ({"dtype": "fp16"}, "unknown calculator fields: dtype; allowed: seq_len, batch, weights, kv_format, lora_rank"),
    ({"kv_format": "fp12"}, "unknown KV cache format 'fp12'; allowed: "),
    ({"config": "{"}, "the pasted text is not JSON "),
    ({"lora_rank": 0}, "lora_rank must be"),
])
def test_bad_starting_decoder_values_say_what_is_allowed(args: dict, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        calculator_widgets.DecoderCalculator(**args)
