"""Arm assignment of champion/challenger experiments: a seeded hash of the account id, stable across
months, balanced per persona and independent of the risk score."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from strategy.arms import ArmConfig, arms_of_accounts, assign_arms

CONFIG = ArmConfig("exp-0123456789abcdef", challenger_share=0.2, holdout_share=0.05)


def ten_thousand_accounts(seed: int = 11) -> pd.DataFrame:
    """10,000 accounts in four personas of different sizes, ids like an ERP's, risk scores that
    differ by persona (so a risk-dependent assignment would show)."""
    rng = np.random.default_rng(seed)
    persona = rng.choice(4, 10_000, p=[0.4, 0.3, 0.2, 0.1])
    risk = np.clip(rng.beta(2, 5, 10_000) + persona * 0.1, 0, 1)
    ids = [f"K-{n:08d}" for n in rng.choice(10**8, 10_000, replace=False)]
    return pd.DataFrame({"account_id": ids, "persona_id": persona, "risk_score": risk})


def test_an_account_keeps_its_arm_in_next_months_run_of_the_same_experiment():
    month1 = ten_thousand_accounts()
    # next month: a third of the accounts paid and left, new ones arrived, the file is in another order
    month2 = pd.concat([month1.iloc[3_000:], ten_thousand_accounts(seed=12).iloc[:3_000]])
    month2 = month2.sample(frac=1.0, random_state=5).reset_index(drop=True)
    arms1 = dict(zip(month1["account_id"], assign_arms(month1["account_id"], CONFIG)))
    arms2 = dict(zip(month2["account_id"], assign_arms(month2["account_id"], CONFIG)))
    shared = set(arms1) & set(arms2)
    assert len(shared) >= 7_000
    assert all(arms1[a] == arms2[a] for a in shared)


def test_another_experiment_id_draws_new_arms():
    accounts = ten_thousand_accounts()["account_id"]
    first = assign_arms(accounts, CONFIG)
    second = assign_arms(accounts, ArmConfig("exp-fedcba9876543210", 0.2, 0.05))
    assert (first != second).mean() > 0.2


def test_arms_are_balanced_within_two_points_per_persona_on_ten_thousand_accounts():
    accounts = ten_thousand_accounts()
    configs = {pid: ArmConfig(f"exp-persona-{pid}", 0.2, 0.05) for pid in range(4)}
    arms = arms_of_accounts(accounts, configs)
    for pid in range(4):
        members = arms[accounts["persona_id"] == pid]
        shares = members.value_counts(normalize=True)
        assert abs(shares["challenger"] - 0.2) <= 0.02, (pid, shares.to_dict())
        assert abs(shares["holdout"] - 0.05) <= 0.02, (pid, shares.to_dict())
        assert abs(shares["champion"] - 0.75) <= 0.02, (pid, shares.to_dict())


def test_arms_do_not_depend_on_the_risk_score():
    accounts = ten_thousand_accounts()
    arms = assign_arms(accounts["account_id"], CONFIG)
    decile = pd.qcut(accounts["risk_score"], 10, labels=False)
    table = pd.crosstab(decile, arms)
    assert chi2_contingency(table.to_numpy())[1] > 0.01
    challenger_share = table["challenger"] / table.sum(axis=1)
    assert challenger_share.between(0.2 - 0.04, 0.2 + 0.04).all(), challenger_share.to_dict()


def test_accounts_of_personas_without_an_experiment_are_champion():
    accounts = ten_thousand_accounts()
    arms = arms_of_accounts(accounts, {0: CONFIG})
    assert set(arms[accounts["persona_id"] != 0]) == {"champion"}
    assert set(arms[accounts["persona_id"] == 0]) == {"champion", "challenger", "holdout"}
    assert arms.index.equals(accounts.index)


def test_the_arm_is_the_documented_hash_of_experiment_id_and_account_id():
    import hashlib

    u = int.from_bytes(hashlib.sha256(b"exp-0123456789abcdef\x00K-00000042").digest()[:8], "big") / 2**64
    expected = "holdout" if u < 0.05 else "challenger" if u < 0.25 else "champion"
    assert assign_arms(pd.Series(["K-00000042"]), CONFIG).iloc[0] == expected


@pytest.mark.parametrize("challenger, holdout", [(0.8, 0.3), (-0.1, 0.0), (0.2, 1.2)])
def test_shares_that_do_not_fit_into_one_are_refused(challenger, holdout):
    with pytest.raises(ValueError, match="shares"):
        ArmConfig("exp-x", challenger, holdout)
