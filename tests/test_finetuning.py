"""llmedu.finetuning against what autograd really saves in transformers' bf16 decoders, with and without peft's LoRA."""

from __future__ import annotations

import random

import peft
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from llmedu import decoders, finetuning
from llmedu.lab.memory_meter import saved_for_backward


def random_config(rng: random.Random, family: str) -> dict:
    """A small random config of a family whose activations are counted: GQA, odd head widths, Qwen's biases."""
    kv_heads = rng.randint(1, 3)
    heads = kv_heads * rng.randint(1, 3)
    settings = {"model_type": family, "vocab_size": rng.randint(16, 200), "hidden_size": heads * rng.choice([4, 8]),
                "intermediate_size": rng.randint(8, 80), "num_hidden_layers": rng.randint(1, 3),
                "num_attention_heads": heads, "num_key_value_heads": kv_heads, "tie_word_embeddings": rng.random() < 0.5}
    if family == "qwen3" or rng.random() < 0.3:
        settings["head_dim"] = 2 * rng.randint(2, 6)
    if family == "mistral":
        settings["sliding_window"] = None
    return settings


def build(settings: dict, attention: str) -> torch.nn.Module:
    settings = dict(settings)
    cfg = AutoConfig.for_model(settings.pop("model_type"), **settings)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation=attention).to(torch.bfloat16)
    return model.train()


def measured(model: torch.nn.Module, batch: int, seq_len: int, vocab: int) -> int:
    ids = torch.randint(0, vocab, (batch, seq_len), generator=torch.Generator().manual_seed(1))
    saved, _ = saved_for_backward(lambda: model(input_ids=ids, labels=ids).loss, exclude=model)
    return saved


RNG = random.Random(20)
CASES = [(random_config(RNG, family), attention, RNG.randint(1, 3), RNG.randint(2, 24), RNG.random() < 0.3)
         for family in finetuning.ACTIVATION_FAMILIES for attention in finetuning.ATTENTION for _ in range(6)]


@pytest.mark.parametrize(("settings", "attention", "batch", "seq_len", "checkpointing"), CASES,
                         ids=lambda value: value["model_type"] if isinstance(value, dict) else str(value))
def test_full_fine_tuning_saves_what_the_formula_says(settings, attention, batch, seq_len, checkpointing):
    model = build(settings, attention)
    if checkpointing:
        model.activation_checkpointing_enable()
    want = finetuning.activation_bytes(decoders.shape_from_config(settings), batch, seq_len, attention, checkpointing)
    assert measured(model, batch, seq_len, settings["vocab_size"]) == want["layers"] + want["outside_layers"] + want["loss"]


@pytest.mark.parametrize(("settings", "attention", "batch", "seq_len", "checkpointing"), CASES,
                         ids=lambda value: value["model_type"] if isinstance(value, dict) else str(value))
def test_lora_saves_what_the_formula_says(settings, attention, batch, seq_len, checkpointing):
    rng = random.Random(seq_len)
    targets = tuple(sorted(rng.sample(finetuning.PROJECTIONS, rng.randint(1, 7))))
    rank = rng.randint(1, 8)
    model = peft.get_peft_model(build(settings, attention), peft.LoraConfig(r=rank, target_modules=list(targets),
                                                                             lora_dropout=0.0))
    model.enable_input_require_grads()  # what peft's prepare_model_for_kbit_training does
    if checkpointing:
        model.activation_checkpointing_enable()
    shape = decoders.shape_from_config(settings)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == finetuning.lora_params(shape, rank, targets)
    want = finetuning.activation_bytes(shape, batch, seq_len, attention, checkpointing, frozen=True,
                                       lora_rank=rank, lora_targets=targets)
    assert measured(model, batch, seq_len, settings["vocab_size"]) == want["layers"] + want["outside_layers"] + want["loss"]


def test_checkpointing_keeps_one_input_per_layer_and_eager_attention_grows_with_the_square():
    shape = decoders.shape_from_config(decoders.preset("llama-3-8b"))
    full = finetuning.activation_bytes(shape, 1, 4096)
    kept = finetuning.activation_bytes(shape, 1, 4096, checkpointing=True)
    assert kept["layers"] == shape.n_layers * 2 * 4096 * shape.d_model
    assert kept["recomputed"] == full["layers"] // shape.n_layers
    eager = [sum(finetuning.layer_activation_bytes(shape, 1, s, "eager").values()) for s in (1024, 2048, 4096)]
    sdpa = [sum(finetuning.layer_activation_bytes(shape, 1, s, "sdpa").values()) for s in (1024, 2048, 4096)]
    assert sdpa[2] == 4 * sdpa[0]  # linear in s
    assert eager[2] - 2 * eager[1] == 4 * (eager[1] - 2 * eager[0]) > 0  # a term in s^2: 6bhs^2


@pytest.mark.parametrize("method", finetuning.METHODS)
def test_model_states_order_and_lora_is_small(method):
    count = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    states = sum(finetuning.model_states(count, method).values())
    assert states <= 16 * count.total
    if method in ("lora", "qlora"):
        assert states < 2.1 * count.total


def test_zero_stage_three_divides_everything_and_tensor_parallel_of_one_is_the_whole_model():
    for devices in (1, 2, 8):
        assert sum(finetuning.zero_states_per_device(10**9, devices, 3).values()) == 16 * 10**9 / devices
    count = decoders.from_config(decoders.preset("smollm2-135m"), output_head="config")
    one = finetuning.tensor_parallel_per_device(count, 1, batch=2, seq_len=128)
    assert one["model_states"] == 16 * count.total
    assert one["layer_activations"] == sum(finetuning.layer_activation_bytes(count.shape, 2, 128).values())
    with pytest.raises(ValueError, match="must divide the heads"):
        finetuning.tensor_parallel_per_device(count, 2, batch=1, seq_len=8)


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: finetuning.lora_params(s, 0), "rank must be a whole number >= 1"),
    (lambda s: finetuning.lora_params(s, 8, ("qkv",)), "unknown LoRA target"),
    (lambda s: finetuning.layer_activation_bytes(s, 1, 8, "flash"), "unknown attention"),
    (lambda s: finetuning.layer_activation_bytes(decoders.shape_from_config(decoders.preset("gemma-2-2b")), 1, 8),
     "unknown family"),
    (lambda s: finetuning.zero_states_per_device(10, 2, 4), "unknown ZeRO stage"),
])
def test_bad_arguments_get_one_line_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(decoders.shape_from_config(decoders.preset("smollm2-135m")))
