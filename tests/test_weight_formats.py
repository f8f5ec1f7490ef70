"""llmedu.weight_formats: the block formats against their definitions elsewhere, and the pricing of a model."""

from __future__ import annotations

import pytest

from llmedu import decoders, weight_formats

# (weights per block, bytes per block) of gguf 0.19.0's GGML_QUANT_SIZES (gguf-py/gguf/constants.py),
# a second source for the GGUF rows of FORMATS, which are written from ggml's block structs.
GGUF_QUANT_SIZES = {"q4_0": (32, 18), "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "q8_0": (32, 34),
                    "q2_k": (256, 84), "q3_k": (256, 110), "q4_k": (256, 144), "q5_k": (256, 176),
                    "q6_k": (256, 210), "bf16": (1, 2), "fp16": (1, 2), "fp32": (1, 4)}


@pytest.mark.parametrize("name, size", GGUF_QUANT_SIZES.items())
def test_gguf_blocks_are_those_of_the_gguf_package(name, size):
    fmt = weight_formats.FORMATS[name]
    assert (fmt.block, fmt.block_bytes) == size


def test_nf4_double_quantization_saves_what_qlora_says():
    # Dettmers et al. 2023: double quantization cuts the constants from 32/64 = 0.5 to 8/64 + 32/(64*256) bits
    plain, double = (weight_formats.bits_per_weight(name) - 4 for name in ("nf4", "nf4_double_quant"))
    assert plain == 0.5 and round(double, 3) == 0.127


def test_int4_is_never_four_bits_a_weight():
    four_bit = [name for name in weight_formats.FORMATS if name.startswith(("q4", "nf4", "gptq", "awq"))]
    assert all(4 < weight_formats.bits_per_weight(name) <= 5 for name in four_bit)


def test_a_partial_block_is_padded_and_bad_names_are_refused():
    assert weight_formats.weights_bytes(33, "q4_0") == 2 * 18
    assert weight_formats.weights_bytes(0, "q8_0") == 0
    with pytest.raises(ValueError, match="unknown format 'int3'; allowed: fp32, bf16"):
        weight_formats.weights_bytes(10, "int3")
    with pytest.raises(ValueError, match="n_weights must be a whole number >= 0"):
        weight_formats.weights_bytes(-1, "q4_0")


def test_a_models_file_keeps_its_embeddings_and_norms_in_16_bits():
    count = decoders.from_config(decoders.preset("smollm2-135m"), output_head="config")
    components = count.components
    assert weight_formats.file_bytes(components, "bf16") == 2 * count.total
    kept = sum(n for c, n in components.items() if c in weight_formats.KEPT_16BIT)
    quantized = count.total - kept
    assert weight_formats.file_bytes(components, "q8_0") == 2 * kept + sum(
        weight_formats.weights_bytes(n, "q8_0") for c, n in components.items() if c not in weight_formats.KEPT_16BIT)
    assert weight_formats.file_bytes(components, "q8_0") > 2 * kept + quantized  # more than one byte a weight
