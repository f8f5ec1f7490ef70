"""Upper bounds on a decoder's speed from two numbers of a device: memory bandwidth and peak compute.

Each decoding step reads every weight once (for all sequences of the batch together; of untied
input embeddings only its tokens' rows) and each sequence's KV cache, and computes about
:math:`2N` operations per token (:math:`N` the weights of the matrices a token passes through,
:func:`matmul_params`). So decoding at batch :math:`b` is bounded by

.. math:: \\text{tokens/s} \\le \\min\\Big(\\frac{b \\cdot \\text{bandwidth}}{W + b \\cdot K},\\;
          \\frac{\\text{peak FLOP/s}}{2N}\\Big)

with :math:`W` the bytes of the weights and :math:`K` one sequence's cache; small batches sit on
the first (memory-bound) side, and the batch where the two meet (:func:`balance_batch`) is where
decoding becomes compute-bound. Prefill processes the prompt's tokens together and is bounded by
the second alone. This is the roofline model (Williams et al. 2009) applied to a transformer.

The devices (:data:`DEVICES`) state where their figures come from. Their peaks are theoretical
(boost clocks, perfect use), which real matrix products reach only in part; ``"bf16"`` is for
16-bit arithmetic (transformers, or kernels that turn low-bit weights back into bf16 before
multiplying), ``"int8"`` for kernels that multiply in int8 (llama.cpp's on GPUs). Leaves out attention's own
FLOPs (:math:`4 L s\\,h e` per token, small next to :math:`2N` at short contexts), the efficiency
real kernels reach (often well under the peak), the speed of the host and of the network between
devices, and Mixtral-style routing, where a batch reads more experts than one token does.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmedu import checks, decoders


@dataclass(frozen=True)
class Device:
    """A device's memory, bandwidth (bytes/s) and dense peaks (operations/s), and where they come from.

    ``peak_flops`` is at the precision the device computes a 16-bit model in: bf16 tensor cores
    on a GPU, fp32 FMA units on a CPU without bf16 arithmetic; ``int8_ops`` with int8 tensor cores
    (``None`` where not stated).
    """

    memory_bytes: int
    bandwidth: float
    peak_flops: float
    source: str
    int8_ops: float | None = None


GIB = 2**30

#: Three devices a reader might hold, from a laptop to a data centre.
DEVICES: dict[str, Device] = {
    "laptop-cpu": Device(
        32 * GIB, 2 * 8 * 5600e6, 8 * 4.0e9 * 2 * 8 * 2,
        "a laptop CPU described by its specifications: dual-channel DDR5-5600 (2 channels x 8 bytes x 5,600 MT/s); "
        "8 cores at 4.0 GHz, each with two 256-bit FMA units (8 fp32 lanes, 2 FLOPs per FMA), 32 GiB of RAM"),
    "rtx-4090": Device(
        24 * GIB, 1008e9, 165.2e12,
        "NVIDIA GeForce RTX 4090 (Ada Lovelace whitepaper): 24 GB GDDR6X at 1,008 GB/s; "
        "165.2 TFLOPS dense FP16/BF16 tensor throughput with FP32 accumulate, 660.6 dense INT8 TOPS", 660.6e12),
    "h100-sxm": Device(
        80 * GIB, 3.35e12, 989.4e12,
        "NVIDIA H100 SXM5 (H100 datasheet and whitepaper): 80 GB HBM3 at 3.35 TB/s; 989.4 TFLOPS dense BF16 "
        "(1,979 with 2:4 sparsity), 1,979 dense INT8 TOPS", 1979e12),
}


def device(name: str) -> Device:
    """A device of :data:`DEVICES` by name.

    >>> device("rtx-4090").bandwidth / 1e9
    1008.0
    """
    return DEVICES[checks.choice("device", name, DEVICES)]


ARITHMETIC = ("bf16", "int8")


def peak(dev: Device, arithmetic: str = "bf16") -> float:
    """The device's peak for ``arithmetic``: bf16 (or fp32 on a CPU) or int8 operations per second.

    >>> round(peak(device("rtx-4090"), "int8") / peak(device("rtx-4090")), 2)
    4.0
    """
    if checks.choice("arithmetic", arithmetic, ARITHMETIC) == "int8":
        if dev.int8_ops is None:
            raise ValueError("this device states no int8 peak; use arithmetic='bf16'")
        return dev.int8_ops
    return dev.peak_flops


def matmul_params(count: decoders.DecoderCount) -> int:
    """Weights of the matrices one token multiplies by: the active parameters less untied input
    embeddings (a lookup, not a product). A tied table counts once, as the output layer.

    >>> matmul_params(decoders.from_config(decoders.preset("llama-3-8b"), output_head="config"))
    7504924672
    """
    head = count.components["output_head"]
    return count.active - (count.components["token_embeddings"] if head else 0)


def decode_tokens_per_second(weight_bytes: float, cache_bytes_per_sequence: float, n_matmul: int, batch: int,
                             dev: Device, arithmetic: str = "bf16") -> dict[str, float | str]:
    """Bounds on decoding speed (tokens per second, all sequences together) and which one binds.

    ``weight_bytes`` is what a step reads (:func:`llmedu.gguf_recipes.bytes_read_per_step`),
    ``n_matmul`` the weights a token multiplies by (:func:`matmul_params`).

    >>> d = device("rtx-4090")
    >>> bound = decode_tokens_per_second(4.7e9, 0.5e9, 8_000_000_000, 1, d)
    >>> round(bound["memory_bound"], 1), round(bound["compute_bound"]), bound["limit"]
    (193.8, 10325, 'memory')
    """
    checks.positive_number("weight_bytes", weight_bytes)
    if cache_bytes_per_sequence < 0:
        raise ValueError(f"cache_bytes_per_sequence must be >= 0, got {cache_bytes_per_sequence}")
    b = checks.positive_int("batch", batch)
    memory_bound = b * dev.bandwidth / (weight_bytes + b * cache_bytes_per_sequence)
    compute_bound = prefill_tokens_per_second(n_matmul, dev, arithmetic)
    return {"memory_bound": memory_bound, "compute_bound": compute_bound,
            "tokens_per_second": min(memory_bound, compute_bound),
            "limit": "memory" if memory_bound < compute_bound else "compute"}


def prefill_tokens_per_second(n_matmul: int, dev: Device, arithmetic: str = "bf16") -> float:
    """Bound on prompt processing: :math:`\\text{peak} / 2N` tokens per second (a prompt shorter
    than :func:`balance_batch` tokens is memory-bound, like decoding).

    >>> round(prefill_tokens_per_second(8_000_000_000, device("h100-sxm")))
    61838
    """
    return peak(dev, arithmetic) / (2 * checks.positive_int("n_matmul", n_matmul))


def balance_batch(weight_bytes: float, n_matmul: int, dev: Device, arithmetic: str = "bf16") -> float:
    """The batch at which reading the weights takes as long as computing with them (caches left out):
    :math:`b^* = \\text{peak} \\cdot W / (2N \\cdot \\text{bandwidth})`. Below it, decoding is memory-bound.

    >>> round(balance_batch(16e9, 8_000_000_000, device("h100-sxm")))
    295
    """
    return peak(dev, arithmetic) * checks.positive_number("weight_bytes", weight_bytes) / (
        2 * checks.positive_int("n_matmul", n_matmul) * dev.bandwidth)
