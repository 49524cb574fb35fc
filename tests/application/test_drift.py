"""application.drift: PSI, Wilson intervals and the review decisions, against hand-computed values."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from application.drift import (PSI_FLOOR, DriftThresholds, categorical_bins, drift_report, numeric_bins, psi,
                               wilson_interval)


def test_psi_of_two_distributions_by_hand():
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    expected = -0.25 * math.log(0.5) + 0.25 * math.log(1.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    assert expected == pytest.approx(0.2747, abs=1e-4)
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_numeric_psi_on_base_deciles_with_a_missing_bin_by_hand():
    base = pd.Series([1.0, 2.0, 3.0, 4.0])
    new = pd.Series([1.0, 1.0, 1.0, 4.0, np.nan])
    b, n, labels = numeric_bins(base, new, bins=2)  # one inner edge: the base median 2.5
    assert labels == ["≤ 2.5", "> 2.5", "(missing)"]
    assert b.tolist() == [0.5, 0.5, 0.0] and n.tolist() == pytest.approx([0.6, 0.2, 0.2])
    expected = (0.6 - 0.5) * math.log(0.6 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5) \
        + (0.2 - PSI_FLOOR) * math.log(0.2 / PSI_FLOOR)
    assert psi(b, n) == pytest.approx(expected)


def test_numeric_bins_are_right_closed_deciles_of_the_base():
    base = pd.Series(np.arange(1, 101, dtype=float))
    b, n, _ = numeric_bins(base, base)
    assert b[:-1] == pytest.approx([0.1] * 10) and psi(b, n) == 0.0


def test_categorical_psi_with_new_levels_and_missing_by_hand():
    b, n, labels = categorical_bins(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "b", "c", None]))
    assert labels == ["a", "b", "(level not in the base run)", "(missing)"]
    assert b.tolist() == [0.5, 0.5, 0.0, 0.0] and n.tolist() == [0.25, 0.25, 0.25, 0.25]
    expected = 2 * (0.25 - 0.5) * math.log(0.25 / 0.5) + 2 * (0.25 - PSI_FLOOR) * math.log(0.25 / PSI_FLOOR)
    assert psi(b, n) == pytest.approx(expected)


def test_wilson_interval_matches_the_textbook_value():
    low, high = wilson_interval(50, 100)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    low, high = wilson_interval(0, 40)
    assert low == 0.0 and high == pytest.approx(0.0876, abs=1e-4)


# ---------------------------------------------------------------------------- decisions
def _base(shares: dict[int, float], n: int, far: float = 0.0):
    ids = np.concatenate([[pid] * int(round(share * n)) for pid, share in shares.items()])
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(len(ids))], "persona_id": ids,
                             "needs_review": False})
    return SimpleNamespace(run_id="20261201-000000-aaaaaaaaaa", meta={}, accounts=accounts,
                           profiles=[{"persona_id": pid, "name": f"P{pid}"} for pid in shares])


def _new(shares: dict[int, float], n: int) -> pd.DataFrame:
    ids = np.concatenate([[pid] * int(round(share * n)) for pid, share in shares.items()])
    return pd.DataFrame({"account_id": [f"N{i}" for i in range(len(ids))], "persona_id": ids, "needs_review": False})


def _report(base, new, thresholds=None, base_far=None, new_far=None, specs=(), frames=None):
    base_frame, new_frame = frames or (pd.DataFrame(index=range(len(base.accounts))), pd.DataFrame(index=range(len(new))))
    return drift_report(base, new, new_frame, base_frame=base_frame, specs=list(specs), base_far=base_far,
                        new_far=new_far, thresholds=thresholds)


def test_a_share_moved_beyond_the_limit_and_the_interval_goes_back_to_review():
    base = _base({0: 0.5, 1: 0.3, 2: 0.2}, 4000)
    report = _report(base, _new({0: 0.4, 1: 0.3, 2: 0.3}, 4000))
    decided = {p["persona_id"]: p for p in report["personas"]}
    assert report["review_needed"] is True and report["review_personas"] == [0, 2]
    assert not decided[1]["review_needed"] and decided[1]["reason"].startswith("stable")
    assert "-10.0 pp" in decided[0]["reason"] and "interval" in decided[0]["reason"]


def test_a_large_move_inside_the_interval_of_a_small_month_is_noise():
    base = _base({0: 0.5, 1: 0.5}, 1000)
    report = _report(base, _new({0: 0.56, 1: 0.44}, 50))  # 6 pp, but 50 accounts: interval ±13 pp
    assert report["review_needed"] is False
    assert "sampling noise" in report["personas"][0]["reason"]


def test_thresholds_are_configurable():
    base = _base({0: 0.5, 1: 0.3, 2: 0.2}, 4000)
    new = _new({0: 0.4, 1: 0.3, 2: 0.3}, 4000)
    report = _report(base, new, DriftThresholds(share_shift=0.15))
    assert report["review_needed"] is False and report["thresholds"]["share_shift"] == 0.15


def test_more_accounts_far_from_every_persona_send_every_persona_back():
    base = _base({0: 0.5, 1: 0.5}, 2000)
    new = _new({0: 0.5, 1: 0.5}, 2000)
    new_far = np.zeros(len(new), bool)
    new_far[::10] = True  # 10 % far from every persona, base 0 %
    report = _report(base, new, base_far=np.zeros(len(base.accounts), bool), new_far=new_far)
    far = report["far_from_every_persona"]
    assert far["review_needed"] and far["share"] == pytest.approx(0.1) and far["base_share"] == 0.0
    assert report["review_personas"] == [0, 1]
    assert all("far from every persona" in p["reason"] for p in report["personas"])


def test_a_major_feature_shift_is_a_warning_unless_configured_to_send_everyone_back():
    base = _base({0: 0.5, 1: 0.5}, 1000)
    new = _new({0: 0.5, 1: 0.5}, 1000)
    frames = (pd.DataFrame({"x": np.arange(1000.0)}), pd.DataFrame({"x": np.arange(1000.0) + 500}))
    specs = [{"column": "x", "kind": "numeric"}]
    report = _report(base, new, specs=specs, frames=frames)
    assert report["features"][0]["level"] == "major" and report["review_needed"] is False
    assert report["warnings"] and "x" in report["warnings"][0]
    strict = _report(base, new, DriftThresholds(major_feature_sends_all=True), specs=specs, frames=frames)
    assert strict["review_personas"] == [0, 1]


def test_risk_score_shift_and_outcome_auc_against_the_base_run():
    base = _base({0: 1.0}, 1000)
    rng = np.random.default_rng(1)
    base.accounts["risk_score"] = rng.random(1000)
    base.meta = {"model": {"roc_auc": {"value": 0.80}}}
    new = _new({0: 1.0}, 1000)
    new["risk_score"] = np.clip(base.accounts["risk_score"].to_numpy() + 0.3, 0, 1)
    not_paid = rng.random(1000) < base.accounts["risk_score"]  # a well-ranked score
    outcomes = pd.DataFrame({"account_id": base.accounts["account_id"][~not_paid], "amount": 10.0})
    report = drift_report(base, new, pd.DataFrame(index=range(1000)), base_frame=pd.DataFrame(index=range(1000)),
                          specs=[], outcomes=outcomes)
    risk = report["risk"]
    assert risk["mean_shift"] == pytest.approx(new["risk_score"].mean() - base.accounts["risk_score"].mean(), abs=1e-4)
    assert risk["review_needed"] and report["review_needed"]
    assert risk["outcomes"]["auc"] > 0.7 and risk["outcomes"]["cv_auc"] == 0.80
    assert len(risk["outcomes"]["calibration"]) == 10


def test_the_report_is_json_safe():
    import json

    base = _base({0: 0.5, 1: 0.5}, 200)
    report = _report(base, _new({0: 0.5, 1: 0.5}, 200))
    assert json.loads(json.dumps(report))["review_needed"] is False
