"""Will it fit? A modern decoder's memory for inference and for fine-tuning, against a list of memory sizes.

For one model (a config), context, batch and formats it adds up, from the other modules:

* **inference**: the weights in a format of :mod:`llmedu.weight_formats` (embeddings, head and
  norms kept in bf16) or a GGUF recipe of :mod:`llmedu.gguf_recipes`, and the KV cache in a format of :mod:`llmedu.kv_cache`;
* **full**, **LoRA** and **QLoRA** fine-tuning: the peak of a step from :mod:`llmedu.finetuning`
  (the model in bf16, full fine-tuning with fp32 or 8-bit Adam, gradient checkpointing optional).

Leaves out what no formula knows: the CUDA context and the kernels' workspaces (a device never
lends all of its memory), fragmentation, and the transient tensors of one forward pass during
inference (a prefill of a long prompt needs room for one layer's intermediates).
"""

from __future__ import annotations

from typing import Any

from llmedu import checks, decoders, finetuning, gguf_recipes, kv_cache

GIB = 2**30
#: Memory sizes in GiB that readers' devices commonly have.
MEMORY_SIZES_GIB = (8, 12, 16, 24, 40, 48, 80)
SCENARIOS = ("inference", *finetuning.METHODS)


def needs(cfg: Any, seq_len: int, batch: int = 1, weight_format: str = "bf16", kv_format: str = "bf16",
          lora_rank: int = 16, checkpointing: bool = True, attention: str = "sdpa") -> dict[str, dict[str, float]]:
    """Bytes each scenario needs, by part, for the model ``cfg`` (a config or ``config.json`` dict).

    Fine-tuning scenarios need a family whose activations :mod:`llmedu.finetuning` counts; for
    the others only ``inference`` is given.

    >>> parts = needs(decoders.preset("llama-3-8b"), seq_len=8192, weight_format="q4_k_m")
    >>> {name: round(sum(p.values()) / GIB, 1) for name, p in parts.items()}
    {'inference': 5.6, 'full_mixed_adam': 120.2, 'full_adam8bit': 75.6, 'lora': 31.5, 'qlora': 23.9}
    """
    count = decoders.from_config(cfg, output_head="config")
    layout = kv_cache.layout_from_config(cfg)
    result = {"inference": {"weights": gguf_recipes.model_file_bytes(count, weight_format),
                            "kv_cache": kv_cache.cache_bytes(layout, seq_len, batch, kv_format)}}
    if count.shape.family in finetuning.ACTIVATION_FAMILIES:
        for method in SCENARIOS[1:]:
            peak = finetuning.training_peak(count, method, batch, seq_len, attention, checkpointing, lora_rank)
            states = sum(finetuning.model_states(count, method, lora_rank).values())
            # at the peak: the model states, and what the step's activations and loss add beyond them
            # (nothing when the peak is the end of backward, where all gradients are alive)
            result[method] = {"model_states": states, "beyond_model_states": peak - states}
    return result


def will_it_fit(cfg: Any, seq_len: int, batch: int = 1, weight_format: str = "bf16", kv_format: str = "bf16",
                lora_rank: int = 16, checkpointing: bool = True, memory_gib: tuple[float, ...] = MEMORY_SIZES_GIB,
                attention: str = "sdpa") -> dict[str, dict[str, Any]]:
    """For each scenario: the bytes it needs and the memory sizes (GiB) of ``memory_gib`` that hold them.

    >>> fits = will_it_fit(decoders.preset("llama-3-8b"), seq_len=8192, weight_format="q4_k_m")
    >>> fits["inference"]["fits"], fits["qlora"]["fits"]
    ([8, 12, 16, 24, 40, 48, 80], [24, 40, 48, 80])
    """
    sizes = tuple(memory_gib)
    for size in sizes:
        checks.positive_number("memory size in GiB", size)
    if not sizes:
        raise ValueError("give at least one memory size in GiB")
    result = {}
    for scenario, parts in needs(cfg, seq_len, batch, weight_format, kv_format, lora_rank, checkpointing,
                                 attention).items():
        total = sum(parts.values())
        result[scenario] = {"bytes": total, "parts": parts, "fits": [size for size in sizes if total <= size * GIB]}
    return result
