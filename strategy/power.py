"""How many accounts a champion/challenger test needs per arm, and intervals for its read-out.

The sample size is that of a two-sided two-proportion z-test (pooled variance under the null,
unpooled under the alternative; Fleiss, *Statistical Methods for Rates and Proportions*, 3rd ed.,
eq. 4.14 without continuity correction, as ``power.prop.test`` in R and statsmodels'
``NormalIndPower`` give up to rounding): ``base_rate`` 0.20, an effect of 0.05 (0.20 -> 0.25),
alpha 0.05 and power 0.80 need 1,094 accounts per arm.

Intervals: Wilson for one rate, Newcombe's hybrid score interval (method 10 of Newcombe 1998) for
the difference of two rates.
"""
from __future__ import annotations

import math

from scipy.stats import norm

from core.errors import UserError


def minimum_sample_per_arm(base_rate: float, min_detectable_effect: float, *, alpha: float = 0.05,
                           power: float = 0.8) -> int:
    """Accounts per arm for a two-sided two-proportion z-test to detect the effect.

    Parameters
    ----------
    base_rate
        The champion's pay rate (share of accounts that pay, 0..1).
    min_detectable_effect
        Smallest difference in pay rate worth detecting, in rate points (0.05 = 5 percentage
        points); the challenger's rate is ``base_rate + effect`` (``base_rate - effect`` when that
        would exceed 1).
    alpha, power
        Two-sided significance level and the chance to detect the effect when it is real.

    Returns
    -------
    int
        Accounts per arm, rounded up.
    """
    for name, value in (("base rate", base_rate), ("minimum detectable effect", min_detectable_effect),
                        ("alpha", alpha), ("power", power)):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(f"the {name} must be a number, not {value!r}.")
    if not 0 <= base_rate <= 1:
        raise UserError(f"the base pay rate must lie between 0 and 1 (a share), not {base_rate}.")
    effect = abs(float(min_detectable_effect))
    if not 0 < effect < 1:
        raise UserError(f"the minimum detectable effect must lie between 0 and 1 (rate points, e.g. 0.05), "
                        f"not {min_detectable_effect}.")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise UserError(f"alpha and power must lie between 0 and 1 (e.g. 0.05 and 0.8), not {alpha} and {power}.")
    p1 = float(base_rate)
    p2 = p1 + effect if p1 + effect <= 1 else p1 - effect
    if not 0 <= p2 <= 1:
        raise UserError(f"an effect of {effect} cannot be detected from a base rate of {p1}: the other rate "
                        "would leave 0..1.")
    pooled = (p1 + p2) / 2
    z_alpha, z_beta = norm.ppf(1 - alpha / 2), norm.ppf(power)
    numerator = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return max(2, math.ceil(numerator ** 2 / effect ** 2 - 1e-9))


def achieved_power(n_per_arm: int, base_rate: float, effect: float, *, alpha: float = 0.05) -> float:
    """Power of the same test with ``n_per_arm`` accounts per arm (0..1), for the read-out's wording."""
    p1 = float(base_rate)
    p2 = min(max(p1 + effect, 0.0), 1.0)
    if n_per_arm <= 0 or p1 == p2:
        return float("nan")
    pooled = (p1 + p2) / 2
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    if spread == 0:
        return 1.0
    z = (abs(p2 - p1) * math.sqrt(n_per_arm) - norm.ppf(1 - alpha / 2) * math.sqrt(2 * pooled * (1 - pooled))) / spread
    return float(norm.cdf(z))


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a rate; ``(nan, nan)`` for ``n == 0``."""
    if n <= 0:
        return float("nan"), float("nan")
    z = norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(successes_a: int, n_a: int, successes_b: int, n_b: int, *,
                      confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference of two rates ``a - b`` with Newcombe's hybrid score interval: (difference, low, high)."""
    if n_a <= 0 or n_b <= 0:
        return float("nan"), float("nan"), float("nan")
    p_a, p_b = successes_a / n_a, successes_b / n_b
    l_a, u_a = wilson_interval(successes_a, n_a, confidence=confidence)
    l_b, u_b = wilson_interval(successes_b, n_b, confidence=confidence)
    difference = p_a - p_b
    low = difference - math.sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2)
    high = difference + math.sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2)
    return difference, low, high
