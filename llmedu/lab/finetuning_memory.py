"""One fine-tuning step of a bf16 decoder, measured: full fine-tuning, LoRA and QLoRA, as llmedu.finetuning counts them.

The three setups of :data:`llmedu.finetuning.METHODS` that run on a CPU, each built as people
build it:

- **full fine-tuning with mixed-precision Adam** (``full_mixed_adam``): the model in bf16, and
  :class:`MixedPrecisionAdam` keeping fp32 master weights and fp32 moments, the ZeRO paper's
  mixed-precision Adam (16 bytes a parameter). Megatron and DeepSpeed also accumulate a bf16
  model's gradients in fp32 buffers by default (4 bytes a parameter more); this optimizer makes
  the fp32 copy of one gradient at a time instead (the largest is the embedding table);
- **LoRA** (:func:`lora`): ``peft``'s adapters on the frozen bf16 base, trained with ``AdamW``;
- **QLoRA** (:func:`qlora_base`, then :func:`lora`): ``transformers`` loads the base through
  bitsandbytes in NF4 with double quantization (bf16 compute), and ``peft``'s
  ``prepare_model_for_kbit_training`` casts what stays unquantized to fp32.

:func:`step_memory` runs two steps (the optimizer's state appears at the first one) under
:func:`llmedu.lab.memory_meter.training_step_timeline` and reports the second: the bytes of the
weights (with bitsandbytes' quantization constants, which are not parameters), the optimizer's
state, the trainable parameters, and the step's peak.

Leaves out 8-bit Adam (bitsandbytes runs it on a CPU, but on the bf16 parameters themselves,
without the fp32 master weights the formula counts), dropout (zero here), a GPU's allocator and
its CUDA context: the meter counts tensors, which is what the formulas count too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from llmedu import checks, finetuning
from llmedu.lab.memory_meter import tensor_bytes, training_step_timeline


class MixedPrecisionAdam(torch.optim.Optimizer):
    """Adam on fp32 master copies of bf16 parameters: 12 bytes of state a parameter, made at the first step.

    >>> weight = torch.nn.Parameter(torch.ones(4, dtype=torch.bfloat16))
    >>> optimizer = MixedPrecisionAdam([weight], lr=0.5)
    >>> weight.grad = torch.full((4,), 2.0, dtype=torch.bfloat16)
    >>> optimizer.step()
    >>> weight.tolist(), sum(t.nbytes for t in optimizer.state[weight].values() if torch.is_tensor(t))
    ([0.5, 0.5, 0.5, 0.5], 48)
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-5,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # noqa: ARG002 - the signature of torch's optimizers
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["master"] = param.detach().float()
                    state["exp_avg"] = torch.zeros_like(state["master"])
                    state["exp_avg_sq"] = torch.zeros_like(state["master"])
                state["step"] += 1
                grad = param.grad.float()  # the one fp32 gradient alive at a time
                state["exp_avg"].lerp_(grad, 1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                del grad
                step = state["step"]
                denominator = (state["exp_avg_sq"] / (1 - beta2 ** step)).sqrt_().add_(group["eps"])
                state["master"].addcdiv_(state["exp_avg"], denominator, value=-group["lr"] / (1 - beta1 ** step))
                del denominator  # one temporary at a time
                param.copy_(state["master"])


def lora(model: torch.nn.Module, rank: int = 16, targets: Iterable[str] = finetuning.PROJECTIONS) -> torch.nn.Module:
    """``peft``'s LoRA of ``rank`` on ``targets`` (default: all seven projections), the base frozen.

    Calls ``enable_input_require_grads``, as ``peft``'s QLoRA preparation does when it turns on
    gradient checkpointing (:func:`qlora_base` turns it off), so that LoRA and QLoRA are measured
    alike and as the book's activation formula counts them.
    """
    import peft

    targets = [checks.choice("LoRA target", name, finetuning.PROJECTIONS) for name in targets]
    wrapped = peft.get_peft_model(model, peft.LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0,
                                                         target_modules=targets))
    wrapped.enable_input_require_grads()
    return wrapped


def qlora_base(folder: Path) -> torch.nn.Module:
    """The model saved in ``folder``, its projections in NF4 with double quantization (bitsandbytes,
    bf16 compute), prepared by ``peft`` for training: embeddings, head and norms in fp32."""
    import peft
    import transformers

    config = transformers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                             bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, quantization_config=config, device_map="cpu",
                                                              dtype=torch.bfloat16)
    return peft.prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


def _quantization_constants(model: torch.nn.Module) -> list[torch.Tensor]:
    """bitsandbytes' absmax, nested absmax and code books: tensors of the weights that are not parameters."""
    found = []
    for param in model.parameters():
        state = getattr(param, "quant_state", None)
        while state is not None:
            found += [t for t in (state.absmax, state.code, state.offset) if isinstance(t, torch.Tensor)]
            state = state.state2
    return found


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of the parameters, the buffers and bitsandbytes' quantization constants, each storage once."""
    return tensor_bytes(list(model.parameters()) + list(model.buffers()) + _quantization_constants(model))


def step_memory(model: torch.nn.Module, input_ids: torch.Tensor, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """The second of two training steps on ``input_ids`` (next-token loss): weights, state, trainable, peak bytes."""
    model.train()
    weights = weight_bytes(model)
    records = training_step_timeline(model, lambda m: m(input_ids=input_ids, labels=input_ids).loss, optimizer,
                                     steps=2, weights=weights)
    second = records[-1]
    return {"weights": weights, "optimizer_state": second["optimizer_state_before"],
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad), "peak": second["peak"]}
