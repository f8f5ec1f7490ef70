"""llmedu.gguf_recipes against the sizes llama.cpp itself reports for real GGUF files."""

from __future__ import annotations

import pytest

from llmedu import decoders, gguf_recipes, weight_formats

LLAMA_2_7B = {"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
              "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32}

# llama-bench's "size" (GiB, the tensors' bytes) and "params" (billions) columns for GGUF files of these
# models, as its users print them in llama.cpp's issues and discussions ("llama 8B Q4_K - Medium | 4.58 GiB
# | 8.03 B"). A second source, independent of the rules written in gguf_recipes.
LLAMA_BENCH = {
    ("llama-3-8b", "q4_k_m"): (4.58, 8.03),      # llama 8B Q4_K - Medium
    ("llama-3-8b", "q4_0"): (4.33, 8.03),        # llama 8B Q4_0
    ("llama-3-8b", "q8_0"): (7.95, 8.03),        # llama 8B Q8_0
    ("llama-3-70b", "q4_k_m"): (39.59, 70.55),   # llama 70B Q4_K - Medium
    ("mistral-7b", "q4_k_m"): (4.07, 7.24),      # llama 7B Q4_K - Medium (Mistral 7B)
    ("mixtral-8x7b", "q4_k_m"): (26.49, 46.70),  # llama 8x7B Q4_K - Medium
    ("qwen2.5-7b", "q4_k_m"): (4.36, 7.62),      # qwen2 7B Q4_K - Medium
    ("qwen3-8b", "q4_k_m"): (4.68, 8.19),        # qwen3 8B Q4_K - Medium
    ("phi-3-mini", "q4_k_m"): (2.23, 3.82),      # phi3 3B Q4_K - Medium (Phi-3-mini-4k)
    ("llama-2-7b", "q4_k_m"): (3.80, 6.74),      # llama 7B Q4_K - Medium (Llama 2 7B)
    ("llama-2-7b", "q4_0"): (3.56, 6.74),        # llama 7B Q4_0 (Llama 2 7B)
}


@pytest.mark.parametrize(("model", "published"), LLAMA_BENCH.items(), ids=lambda v: "-".join(v) if isinstance(v[0], str) else "")
def test_gguf_files_have_the_size_llama_bench_reports(model, published):
    name, file_type = model
    config = LLAMA_2_7B if name == "llama-2-7b" else decoders.preset(name)
    count = decoders.from_config(config, output_head="config")
    size_gib, params_b = published
    assert round(gguf_recipes.model_file_bytes(count, file_type) / 2**30, 2) == size_gib
    assert round(count.total / 1e9, 2) == params_b


@pytest.mark.parametrize("file_type", gguf_recipes.RECIPES)
def test_every_weight_is_in_exactly_one_tensor(file_type):
    for name in decoders.PRESETS:
        shape = decoders.shape_from_config(decoders.preset(name))
        assert sum(n for _, _, n in gguf_recipes.tensor_types(shape, file_type)) == decoders.count(shape, "config").total


def test_a_decoding_step_reads_all_weights_but_untied_input_embeddings():
    untied = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    tied = decoders.from_config(decoders.preset("smollm2-135m"), output_head="config")
    for name in ("q4_k_m", "nf4", "bf16"):
        assert gguf_recipes.bytes_read_per_step(tied, name) == gguf_recipes.model_file_bytes(tied, name)
    assert gguf_recipes.model_file_bytes(untied, "bf16") - gguf_recipes.bytes_read_per_step(untied, "bf16") == \
        2 * untied.components["token_embeddings"]


def test_rows_that_do_not_fill_a_block_fall_back():
    # SmolLM2's width, 576, is not a multiple of 256: the matrices that read rows of that width fall
    # back (Q4_K to Q5_0, Q6_K to Q8_0); the FFN's down projection reads rows of 1,536 and keeps Q6_K
    shape = decoders.shape_from_config(decoders.preset("smollm2-135m"))
    kinds = {name.split(".")[-1]: kind for name, kind, _ in gguf_recipes.tensor_types(shape) if name.startswith("blk.0.")}
    assert kinds["attn_q"] == "q5_0" and kinds["attn_v"] == "q8_0" and kinds["ffn_up"] == "q5_0"
    assert kinds["ffn_down"] == "q6_k"
    assert {kind for name, kind, _ in gguf_recipes.tensor_types(shape) if name == "token_embd"} == {"q8_0"}


def test_the_recipe_is_more_than_its_base_type_and_names_are_checked():
    count = decoders.from_config(decoders.preset("llama-3-8b"), output_head="config")
    q4_k_only = sum(weight_formats.weights_bytes(n, "q4_k") for n in count.components.values())
    assert gguf_recipes.model_file_bytes(count, "q4_k_m") > q4_k_only
    with pytest.raises(ValueError, match="unknown format 'q4_k_s'"):
        gguf_recipes.model_file_bytes(count, "q4_k_s")
    with pytest.raises(ValueError, match="unknown GGUF file type 'q5_k_m'"):
        gguf_recipes.file_bytes(count.shape, "q5_k_m")
