"""Sample size and intervals of champion/challenger tests (strategy/power.py) against textbook values."""
from __future__ import annotations

import pytest

from core.errors import UserError
from strategy.power import achieved_power, minimum_sample_per_arm, newcombe_interval, wilson_interval


def test_twenty_percent_base_and_five_points_effect_need_1094_per_arm():
    # Fleiss eq. 4.14 without continuity correction; R: power.prop.test(p1=.2, p2=.25, power=.8) -> 1093.7
    assert minimum_sample_per_arm(0.2, 0.05) == 1094


@pytest.mark.parametrize("base, effect, expected", [
    (0.5, 0.1, 388),   # power.prop.test(p1=.5, p2=.6, power=.8): n = 387.3
    (0.1, 0.05, 686),  # power.prop.test(p1=.1, p2=.15, power=.8): n = 685.5
])
def test_other_textbook_sample_sizes(base, effect, expected):
    assert minimum_sample_per_arm(base, effect) == expected


def test_a_smaller_effect_or_more_power_needs_more_accounts():
    assert minimum_sample_per_arm(0.2, 0.02) > minimum_sample_per_arm(0.2, 0.05)
    assert minimum_sample_per_arm(0.2, 0.05, power=0.9) > minimum_sample_per_arm(0.2, 0.05)


def test_the_computed_sample_reaches_the_requested_power():
    n = minimum_sample_per_arm(0.3, 0.05)
    assert achieved_power(n, 0.3, 0.05) >= 0.8 > achieved_power(n - 20, 0.3, 0.05)


def test_a_base_rate_near_one_tests_the_effect_downwards():
    assert minimum_sample_per_arm(0.98, 0.05) == minimum_sample_per_arm(0.93, 0.05)


@pytest.mark.parametrize("base, effect", [(1.5, 0.05), (0.2, 0.0), (0.2, 1.2), (float("nan"), 0.05)])
def test_impossible_inputs_are_refused_with_a_message(base, effect):
    with pytest.raises(UserError, match="must"):
        minimum_sample_per_arm(base, effect)


def test_newcombe_interval_matches_newcombes_worked_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II example (56/70 vs 48/80): 0.0524 to 0.3339
    difference, low, high = newcombe_interval(56, 70, 48, 80)
    assert difference == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_wilson_interval_matches_the_textbook_value():
    # 81 of 263: Wilson 95 % interval 0.2553 to 0.3662 (Newcombe 1998, method 3)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
