"""Quantization: the hand-written quantizer, fake quantization, dynamic int8 and its measurements.

The quantizer is checked against its definition (error at most half a step, exact zero, one
scale per row), fake quantization against the round trip it stands for, and dynamic int8 against
the float model it approximates.
"""

from __future__ import annotations

import pytest
import torch

from llmedu import compression
from llmedu.lab import models, pruning, quantization

VOCAB = 72


def weights(rows: int = 16, cols: int = 32, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=generator)
    w[3] *= 20  # one row with a much larger range: per-channel scales must help it
    return w


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("per_channel", [True, False])
def test_round_trip_error_is_at_most_half_a_step(symmetric: bool, per_channel: bool) -> None:
    w = weights()
    q, scale, zero = quantization.quantize(w, bits=8, symmetric=symmetric, per_channel=per_channel)
    assert q.min() >= (-127 if symmetric else 0) and q.max() <= (127 if symmetric else 255)
    assert scale.numel() == (16 if per_channel else 1)
    error = (quantization.dequantize(q, scale, zero) - w).abs()
    assert bool((error <= scale / 2 + 1e-6).all())


def test_asymmetric_quantization_keeps_zero_exact_and_per_channel_helps() -> None:
    x = torch.tensor([[0.0, 0.3, 1.7, 2.5]])
    q, scale, zero = quantization.quantize(x, bits=8, symmetric=False)
    assert quantization.dequantize(q, scale, zero)[0, 0] == 0.0
    w = weights()
    per_tensor = quantization.quantization_error(w, per_channel=False)
    per_channel = quantization.quantization_error(w, per_channel=True)
    assert per_channel["relative"] < per_tensor["relative"] / 2
    assert quantization.quantization_error(w, bits=4)["relative"] > per_tensor["relative"] * 8


def test_bad_quantizer_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="bits must be between 2 and 16"):
        quantization.quantize(weights(), bits=1)
    with pytest.raises(ValueError, match="per_channel needs"):
        quantization.quantize(torch.ones(4), per_channel=True)


def test_fake_quantization_has_the_round_trip_value_and_the_identity_gradient() -> None:
    w = weights().requires_grad_()
    out = quantization.fake_quantize(w, bits=4, per_channel=True)
    assert torch.equal(out.detach(), quantization.dequantize(*quantization.quantize(w, 4, True, True)))
    out.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))


def test_attached_fake_quantization_equals_quantized_weights() -> None:
    model = models.build_model("tiny", VOCAB, seed=0)
    reference = models.build_model("tiny", VOCAB, seed=0)
    with torch.no_grad():
        for _, module in pruning.encoder_linears(reference):
            module.weight.copy_(quantization.dequantize(*quantization.quantize(module.weight, 4, True, True)))
    quantization.attach_fake_quantization(model, bits=4)
    ids = torch.randint(5, VOCAB, (4, 10), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.allclose(model(input_ids=ids).logits, reference(input_ids=ids).logits, atol=1e-6)


def test_dynamic_int8_stores_a_quarter_and_stays_close() -> None:
    model = models.build_model("tiny", VOCAB, seed=0)
    linear_numel = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert quantization.linear_weight_bytes(model) == 4 * linear_numel
    int8 = quantization.dynamic_int8(model)
    linears = sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert quantization.linear_weight_bytes(int8) == linear_numel + 16 * linears
    ids = torch.randint(5, VOCAB, (8, 12), generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        a, b = model(input_ids=ids).logits, int8(input_ids=ids).logits
    assert not torch.equal(a, b) and torch.allclose(a, b, atol=0.05)


def test_static_int8_fixes_each_activation_scale_at_calibration() -> None:
    """Static: a review's logits do not depend on the batch it comes in; dynamic: they do."""
    model = models.build_model("tiny", VOCAB, seed=0).eval()
    generator = torch.Generator().manual_seed(3)
    calibration = torch.randint(5, VOCAB, (64, 12), generator=generator)
    static = quantization.static_int8(model, lambda m: m(input_ids=calibration))
    assert not any(type(m) is torch.nn.Linear for m in static.modules())
    assert sum(isinstance(m, quantization.StaticInt8Linear) for m in static.modules()) == \
        sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    dynamic = quantization.dynamic_int8(model)
    review, other = calibration[:1], torch.randint(5, VOCAB, (1, 12), generator=generator)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch.inference_mode():
            alone = [m(input_ids=review).logits for m in (static, dynamic)]
            together = [m(input_ids=torch.cat([review, other])).logits[:1] for m in (static, dynamic)]
            assert torch.equal(alone[0], together[0]) and not torch.equal(alone[1], together[1])
            assert torch.allclose(static(input_ids=calibration).logits, model(input_ids=calibration).logits, atol=0.1)
        assert torch.are_deterministic_algorithms_enabled()  # the static layers restore the mode they found
    finally:
        torch.use_deterministic_algorithms(deterministic)


def test_one_role_is_quantized_alone() -> None:
    model = models.build_model("tiny", VOCAB, seed=0)
    assert quantization.role_names(model, "FFN out") == {"bert.encoder.layer.0.output.dense", "bert.encoder.layer.1.output.dense"}
    only = quantization.quantize_role(model, "FFN out")
    floats = sum(1 for m in only.modules() if isinstance(m, torch.nn.Linear))
    assert floats == sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear)) - 2
    with pytest.raises(ValueError, match="role"):
        quantization.role_names(model, "FFN middle")


def test_sentence_embeddings_average_the_real_tokens() -> None:
    encoder = models.build_model("tiny", VOCAB, seed=0).bert
    ids = torch.randint(5, VOCAB, (3, 6), generator=torch.Generator().manual_seed(3))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]])
    pooled = quantization.sentence_embeddings(encoder, {"input_ids": ids, "attention_mask": mask}, batch_size=2)
    with torch.inference_mode():
        second = encoder(input_ids=ids[1:2, :3]).last_hidden_state.mean(dim=1)
    assert pooled.shape == (3, 128) and torch.allclose(pooled[1], second[0], atol=1e-5)


def test_quantized_bytes_formula() -> None:
    assert compression.quantized_bytes(1024, bits=8, group_size=1024, scale_bytes=4) == 1024 + 4
    assert compression.quantized_bytes(1024, bits=4, group_size=32, scale_bytes=2, zero_point_bytes=2) == 512 + 32 * 4
    with pytest.raises(ValueError, match="must divide"):
        compression.quantized_bytes(1000, bits=4, group_size=64)
