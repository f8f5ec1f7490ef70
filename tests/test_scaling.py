"""llmedu.scaling: Kaplan's law, the article's factor recomputed, compute and Chinchilla."""

import math

import pytest

from llmedu import scaling


def test_loss_reduction_factor_inverts_the_power_law():
    n = 1e9
    factor = scaling.param_factor_for_loss_reduction(0.10)
    assert scaling.kaplan_loss(n * factor) == pytest.approx(0.9 * scaling.kaplan_loss(n))


def test_ten_percent_lower_loss_needs_about_four_times_the_parameters():
    assert 3.9 < scaling.param_factor_for_loss_reduction(0.10) < 4.1


def test_articles_factor_is_astronomical_not_3_7():
    assert scaling.article_param_factor(0.07) == pytest.approx(10 ** (1 / 0.07))
    assert math.log10(scaling.article_param_factor(0.07)) > 14


def test_compute_and_tokens():
    assert scaling.training_flops(2, 3) == 36
    assert scaling.chinchilla_tokens(1e9) == 2e10


@pytest.mark.parametrize("call, fragment", [
    (lambda: scaling.kaplan_loss(0), "n_params must be a finite number > 0"),
    (lambda: scaling.param_factor_for_loss_reduction(1.5), "reduction must be a fraction between 0 and 1"),
    (lambda: scaling.article_param_factor(-0.07), "alpha must be a finite number > 0"),
    (lambda: scaling.training_flops("1e9", 10), "n_params must be a number > 0"),
])
def test_bad_input_raises_a_clear_value_error(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
