"""The memory measurements of the labs, and the activation formulas held against them."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

from llmedu import memory
from llmedu.lab.memory_meter import (LiveTensorMeter, saved_for_backward, saved_tensor_inventory,
                                     training_step_timeline)


def bert_layer(hidden: int, heads: int, ffn: int, **attention: object) -> torch.nn.Module:
    torch.manual_seed(0)
    config = BertConfig(hidden_size=hidden, num_attention_heads=heads, intermediate_size=ffn, num_hidden_layers=1,
                        **attention)
    return BertModel(config, add_pooling_layer=False).encoder.layer[0].train()


def run_layer(layer: torch.nn.Module, batch: int, seq: int) -> torch.Tensor:
    x = torch.randn(batch, seq, layer.attention.self.query.in_features, requires_grad=True)
    out = layer(x)
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("hidden,heads,ffn,batch,seq", [(64, 2, 256, 2, 16), (96, 3, 200, 3, 40), (128, 8, 512, 1, 64)])
def test_derived_formula_equals_what_a_bert_layer_saves(hidden: int, heads: int, ffn: int, batch: int, seq: int) -> None:
    layer = bert_layer(hidden, heads, ffn)
    measured, out = saved_for_backward(lambda: run_layer(layer, batch, seq), exclude=layer)
    assert measured == memory.activations_per_layer_bert(batch, seq, hidden, heads, ffn, dtype="fp32")
    assert measured == sum(row["bytes"] for row in saved_tensor_inventory(out, exclude=layer))
    if ffn == 4 * hidden:  # Korthikanti et al. assume the usual FFN width
        korthikanti = memory.activations_per_layer_korthikanti(batch, seq, hidden, heads, dtype="fp32", mask_bytes=4)
        assert abs(korthikanti / measured - 1) < 0.15
    assert memory.activations_per_layer_article(batch, seq, hidden) < 0.5 * measured



@pytest.mark.parametrize("implementation,dropout,options,square", [
    ("sdpa", 0.1, {}, 3),                                               # SDPA's math path: three s x s tensors per head
    ("sdpa", 0.0, {"attention_dropout": False, "fused_attention": True}, 0),  # the fused CPU kernel: none
    ("eager", 0.0, {"attention_dropout": False}, 1),                    # eager without dropout: the softmax output
])
def test_attention_kernels_keep_the_scores_the_formula_says(implementation: str, dropout: float, options: dict,
                                                            square: int) -> None:
    hidden, heads, batch, seq = 96, 3, 2, 40
    layer = bert_layer(hidden, heads, 4 * hidden, attn_implementation=implementation, attention_probs_dropout_prob=dropout)
    _, out = saved_for_backward(lambda: run_layer(layer, batch, seq), exclude=layer)
    rows = saved_tensor_inventory(out, exclude=layer)
    scores = [row for row in rows if tuple(row["shape"][-2:]) == (seq, seq)]
    assert sum(row["bytes"] for row in scores) == square * 4 * heads * seq * seq * batch
    formula = memory.activations_per_layer_bert(batch, seq, hidden, heads, dtype="fp32", **options)
    # eager attention also saves its 0-dimensional scaling factor (8 bytes)
    assert 0 <= sum(row["bytes"] for row in rows) - formula <= 8

def test_korthikanti_at_16_bits_is_the_published_formula() -> None:
    b, s, h, a = 3, 50, 64, 4
    assert memory.activations_per_layer_korthikanti(b, s, h, a) == 34 * s * b * h + 5 * a * s * s * b
    with pytest.raises(ValueError, match="dtype"):
        memory.activations_per_layer_korthikanti(b, s, h, a, dtype="int4")


def test_training_step_timeline_of_a_linear_model_computed_by_hand() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(1000, 1000)
    n = 1000 * 1000 + 1000
    x = torch.randn(10, 1000)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    first, second = training_step_timeline(model, lambda m: m(x).sum(), optimizer, steps=2)
    assert first["weights"] == 4 * n and first["optimizer_state_before"] == 0
    assert first["after_backward"] == 8 * n              # weights and gradients (the loss was deleted)
    assert second["after_step"] >= 16 * n               # weights, gradients, Adam's two moments
    assert second["after_zero_grad"] == 12 * n + 8      # gradients freed; Adam's step counters stay
    assert second["peak"] >= second["after_step"]


def test_meter_does_not_count_views_or_tensors_made_before() -> None:
    weight = torch.ones(100, 100)
    with LiveTensorMeter() as meter:
        view = weight.t()
        copy = view.contiguous()
    assert meter.peak == 100 * 100 * 4 and meter.current == 100 * 100 * 4
    del view, copy


def test_corrected_peak_is_never_above_the_article_peak() -> None:
    for n, act in [(10**6, 10**5), (10**6, 10**8), (12345, 0)]:
        assert memory.peak_training(n, act) <= 16 * n + act


@pytest.mark.parametrize("vocab,hidden,batch,seq", [(5000, 16, 2, 16), (3000, 32, 3, 24)])
def test_a_language_models_loss_keeps_and_adds_what_lm_loss_bytes_says(vocab: int, hidden: int, batch: int,
                                                                        seq: int) -> None:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=vocab, n_embd=hidden, n_head=2, n_layer=1, n_positions=64,
                        bos_token_id=None, eos_token_id=None)
    model = GPT2LMHeadModel(config).train()
    ids = torch.randint(0, vocab, (batch, seq))
    expected = memory.lm_loss_bytes(batch, seq, vocab)
    inventory = saved_tensor_inventory(model(input_ids=ids, labels=ids).loss, exclude=model)
    assert sum(r["bytes"] for r in inventory if r["shape"][-1:] == (vocab,)) == expected["saved"]
    with LiveTensorMeter() as meter:
        loss = model(input_ids=ids, labels=ids).loss
        meter.mark("after_forward")
        loss.backward()
    after_forward = dict(meter.timeline)["after_forward"]
    assert meter.peak - after_forward == pytest.approx(expected["backward_extra"], rel=1e-3)
