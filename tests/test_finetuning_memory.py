"""Lab 12's measurement of a fine-tuning step: the optimizer, the setups and the bytes, on tiny decoders."""

from __future__ import annotations

import pytest
import torch
import transformers

from llmedu import decoders, finetuning
from llmedu.lab import finetuning_memory
from llmedu.lab.memory_meter import tensor_bytes

# The embedding table, tied to the head, is the largest matrix, as in SmolLM2.
SETTINGS = {"model_type": "llama", "vocab_size": 4096, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": True}
IDS = torch.randint(0, 4096, (1, 24), generator=torch.Generator().manual_seed(0))


def tiny(dtype: torch.dtype = torch.bfloat16) -> torch.nn.Module:
    settings = {k: v for k, v in SETTINGS.items() if k != "model_type"}
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**settings)).to(dtype)


def count() -> decoders.DecoderCount:
    return decoders.from_config(SETTINGS, output_head="config")


def test_mixed_precision_adam_follows_fp32_adam_and_writes_bf16_weights() -> None:
    torch.manual_seed(1)
    start = torch.randn(300)
    grads = [torch.randn(300) for _ in range(3)]
    weight = torch.nn.Parameter(start.to(torch.bfloat16))
    mixed = finetuning_memory.MixedPrecisionAdam([weight], lr=1e-2)
    reference = torch.nn.Parameter(weight.detach().float())  # fp32 Adam from the same bf16 start
    adam = torch.optim.Adam([reference], lr=1e-2)
    for grad in grads:
        weight.grad = grad.to(torch.bfloat16)
        reference.grad = weight.grad.float()
        adam.step()
        mixed.step()
    master = mixed.state[weight]["master"]
    # the master copy follows fp32 Adam, not the bf16 weights' rounding
    assert master.dtype == torch.float32 and torch.allclose(master, reference.detach(), rtol=0, atol=1e-6)
    assert not torch.equal(master, master.to(torch.bfloat16).float())
    assert torch.equal(weight.detach(), master.to(torch.bfloat16))
    assert tensor_bytes(mixed.state_dict()["state"]) == 12 * 300


def test_full_fine_tuning_keeps_the_formulas_states() -> None:
    model = tiny()
    step = finetuning_memory.step_memory(model, IDS, finetuning_memory.MixedPrecisionAdam(model.parameters()))
    states = finetuning.model_states(count(), "full_mixed_adam")
    assert step["trainable"] == count().total
    assert step["weights"] == states["bf16_weights"] + tensor_bytes(list(model.buffers()))
    assert step["optimizer_state"] == states["fp32_master_weights"] + states["adam_momentum"] + states["adam_variance"]
    largest = max(p.numel() for p in model.parameters())
    assert largest == model.model.embed_tokens.weight.numel()
    # every state, and one more copy of the largest matrix (its fp32 gradient in the optimizer's step;
    # the tied table's two bf16 gradients added at the end of the backward pass): nothing else
    expected = sum(states.values()) + tensor_bytes(list(model.buffers())) + 4 * largest
    assert 0 <= step["peak"] - expected < 64


def test_lora_trains_what_the_formula_counts() -> None:
    adapted = finetuning_memory.lora(tiny(), rank=4, targets=("q_proj", "v_proj"))
    trainable = [p for p in adapted.parameters() if p.requires_grad]
    step = finetuning_memory.step_memory(adapted, IDS, torch.optim.AdamW(trainable, lr=1e-4))
    states = finetuning.model_states(count(), "lora", 4, ("q_proj", "v_proj"))
    assert step["trainable"] == finetuning.lora_params(count().shape, 4, ("q_proj", "v_proj"))
    assert all(p.dtype == torch.float32 for p in trainable)
    # AdamW keeps a step count (a 0-dimensional fp32 tensor) beside each adapter's two moments
    assert step["optimizer_state"] == states["adapter_adam"] + 4 * len(trainable)


def test_qlora_is_nf4_with_double_quantization_and_its_bytes_are_the_formulas(tmp_path) -> None:
    tiny(torch.float32).save_pretrained(tmp_path)
    base = finetuning_memory.qlora_base(tmp_path)
    quantized = [m for m in base.modules() if hasattr(getattr(m, "weight", None), "quant_state")]
    assert len(quantized) == 7 * SETTINGS["num_hidden_layers"]
    for module in quantized:
        state = module.weight.quant_state
        assert (state.quant_type, state.nested, module.compute_dtype) == ("nf4", True, torch.bfloat16)
    assert base.model.embed_tokens.weight.dtype == torch.float32
    # the formula's NF4 base, plus what it leaves out: each matrix's code books and offset, and the buffers
    books = sum(m.weight.quant_state.code.nbytes + m.weight.quant_state.state2.code.nbytes
                + m.weight.quant_state.offset.nbytes for m in quantized)
    formula = finetuning.model_states(count(), "qlora", 4)["frozen_base"]
    extra = finetuning_memory.weight_bytes(base) - formula - books - tensor_bytes(list(base.buffers()))
    assert 0 <= extra <= 4 * len(quantized)  # the formula prices the nested fp32 absmax as a fraction of a bit
    adapted = finetuning_memory.lora(base, rank=4)
    trainable = [p for p in adapted.parameters() if p.requires_grad]
    step = finetuning_memory.step_memory(adapted, IDS, torch.optim.AdamW(trainable, lr=1e-4))
    assert step["weights"] == finetuning_memory.weight_bytes(adapted)
    assert step["trainable"] == finetuning.lora_params(count().shape, 4)
    assert step["optimizer_state"] == 8 * step["trainable"] + 4 * len(trainable)
    assert step["peak"] > step["weights"] + step["optimizer_state"]


def test_a_bad_lora_target_gets_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="LoRA target"):
        finetuning_memory.lora(tiny(), targets=("q_proj", "attention"))
