"""Coarse copies: a column that is a step function of a finer one is found, nothing else is."""
from __future__ import annotations

import numpy as np

from personas.structure import coarse_copies, step_kappa


def _days(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.round(rng.gamma(2.0, 30.0, n))


def test_a_dunning_level_cut_from_days_is_a_coarse_copy_even_when_most_accounts_share_one_level():
    rng = np.random.default_rng(0)
    days = np.concatenate([rng.integers(0, 10, 1700), _days(rng, 300)]).astype(float)  # 85 % at level 0
    level = np.searchsorted([14, 30, 60, 90], days, side="right").astype(float)
    balance = rng.lognormal(6, 1, len(days))
    assert step_kappa(level, days) > 0.99
    assert coarse_copies(np.column_stack([balance, days, level])) == {2: 1}


def test_a_falling_step_function_and_missing_values_are_still_a_copy():
    rng = np.random.default_rng(1)
    days = _days(rng, 2000)
    level = 4.0 - np.searchsorted([14, 30, 60, 90], days, side="right")
    days[rng.random(2000) < 0.2] = np.nan
    level[rng.random(2000) < 0.1] = np.nan
    assert coarse_copies(np.column_stack([days, level])) == {1: 0}


def test_related_counts_flags_with_more_to_them_and_equally_fine_columns_are_not_copies():
    rng = np.random.default_rng(2)
    n = 3000
    payments_year = rng.poisson(6, n).astype(float)
    payments_quarter = rng.binomial(payments_year.astype(int), 0.25).astype(float)  # related, not derived
    days = _days(rng, n)
    barred = ((days > 150) & (rng.random(n) < 0.9)).astype(float)  # mostly the days, not only
    pay_now = rng.integers(-2, 9, n).astype(float)
    days_again = np.clip(pay_now, 0, None) * 30  # exactly derived, but as fine as its source
    Z = np.column_stack([payments_year, payments_quarter, days, barred, pay_now, days_again])
    assert coarse_copies(Z) == {}
    assert step_kappa(np.arange(n, dtype=float), days) == 0.0  # too many values to be a level


def test_in_a_wide_export_only_the_planted_copy_is_found():
    """200 columns, 100 of them with few values: every pair is a candidate, one is a copy."""
    rng = np.random.default_rng(3)
    Z = np.column_stack([rng.normal(size=(4000, 100)), rng.integers(0, 10, (4000, 100)).astype(float)])
    Z[:, 150] = np.searchsorted([-1.0, 0.0, 1.0], Z[:, 7])  # one planted copy among them
    assert coarse_copies(Z) == {150: 7}


def test_a_dunning_level_written_as_text_is_a_copy_whatever_order_its_codes_have():
    from personas.structure import categorical_copies

    rng = np.random.default_rng(4)
    days = _days(rng, 3000)
    step = np.searchsorted([14, 30, 60, 90], days, side="right")
    # codes as a one-hot encoder gives them: alphabetical ("1. Mahnung" < "2. Mahnung" < "Inkasso" < "keine")
    text_code = np.array([3, 0, 1, 4, 2])[step]
    text_code[rng.random(3000) < 0.1] = -1  # missing
    region = rng.integers(0, 5, 3000)  # independent of everything
    balance = rng.lognormal(6, 1, 3000)
    Z = np.column_stack([balance, days])
    assert categorical_copies({"Mahnstufe": text_code, "Bundesland": region}, Z) == {"Mahnstufe": 1}
