"""Scaling laws: Kaplan et al.'s loss power law, compute, and Chinchilla's tokens per parameter.

Covers the parameter-limited law of Kaplan et al. 2020, :math:`L(N) = (N_c/N)^{\\alpha_N}`
(loss in nats per token, :math:`N` non-embedding parameters), the parameter factor a given loss
reduction needs under it, the source article's factor :math:`10^{1/\\alpha}` for comparison,
training compute :math:`C \\approx 6ND`, and Hoffmann et al. 2022's ~20 tokens per parameter.

Leaves out the data- and compute-limited laws and any fitting: the constants are the papers'.
"""

from __future__ import annotations

from llmedu import checks

KAPLAN_ALPHA_N = 0.076  #: Kaplan et al. 2020, eq. 1.1
KAPLAN_N_C = 8.8e13  #: Kaplan et al. 2020, non-embedding parameters
ARTICLE_ALPHA = 0.07  #: the exponent the source article uses
CHINCHILLA_TOKENS_PER_PARAM = 20  #: Hoffmann et al. 2022, compute-optimal rule of thumb


def kaplan_loss(n_params: float, n_c: float = KAPLAN_N_C, alpha: float = KAPLAN_ALPHA_N) -> float:
    """Test loss (nats/token) of a model of ``n_params`` non-embedding parameters: :math:`(N_c/N)^{\\alpha}`.

    >>> round(kaplan_loss(1e9), 3)
    2.376
    """
    n = checks.positive_number("n_params", n_params)
    return (checks.positive_number("n_c", n_c) / n) ** checks.positive_number("alpha", alpha)


def param_factor_for_loss_reduction(reduction: float, alpha: float = KAPLAN_ALPHA_N) -> float:
    """How many times more parameters lower the loss by the fraction ``reduction``.

    From :math:`L'/L = (N/N')^{\\alpha} = 1 - r`: :math:`N'/N = (1/(1-r))^{1/\\alpha}`.

    >>> round(param_factor_for_loss_reduction(0.10), 2)
    4.0
    """
    r = checks.fraction("reduction", reduction)
    return (1 / (1 - r)) ** (1 / checks.positive_number("alpha", alpha))


def article_param_factor(alpha: float = ARTICLE_ALPHA) -> float:
    """The source article's factor for a "10% improvement", :math:`10^{1/\\alpha}`, evaluated honestly.

    The article states it is about 3.7; at :math:`\\alpha = 0.07` it is about :math:`1.9 \\cdot 10^{14}`.

    >>> f"{article_param_factor():.2e}"
    '1.93e+14'
    """
    return 10 ** (1 / checks.positive_number("alpha", alpha))


def training_flops(n_params: float, n_tokens: float) -> float:
    """Training compute, :math:`C \\approx 6ND` floating-point operations (forward 2ND, backward 4ND).

    >>> f"{training_flops(175e9, 300e9):.2e}"
    '3.15e+23'
    """
    return 6 * checks.positive_number("n_params", n_params) * checks.positive_number("n_tokens", n_tokens)


def chinchilla_tokens(n_params: float, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM) -> float:
    """Compute-optimal training tokens for ``n_params`` parameters, :math:`D \\approx 20N`.

    >>> f"{chinchilla_tokens(70e9):.1e}"
    '1.4e+12'
    """
    return checks.positive_number("n_params", n_params) * checks.positive_number("tokens_per_param", tokens_per_param)
