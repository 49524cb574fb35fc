"""KPIs month over month (strategy/kpis.py) on a hand-built two-month example."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from runs import new_run_id
from strategy.kpis import dpd_bucket, kpis, kpis_records, run_chain
from strategy.run_view import load_run_view
from tests.run_factory import save_fabricated_run

PROFILES = [{"persona_id": 0, "name": "Forgetful payers", "size": 3, "share_accounts": 0.5, "share_balance": 0.3},
            {"persona_id": 1, "name": "Long overdue", "size": 3, "share_accounts": 0.5, "share_balance": 0.7}]
# month 1: account -> (persona, balance, days past due); month 2: days past due (a4 left the portfolio)
MONTH_1 = {"a1": (0, 100.0, 10), "a2": (0, 200.0, 20), "a3": (0, 300.0, 45),
           "a4": (1, 400.0, 100), "a5": (1, 50.0, 0), "a6": (1, 1000.0, 400)}
MONTH_2 = {"a1": 40, "a2": 0, "a3": 75, "a5": 0, "a6": 430, "a7": 5}


def _run(directory, rows: dict, parent=None, run_id=None):
    ids = list(rows)
    accounts = pd.DataFrame({"account_id": ids, "persona_id": [rows[i][0] for i in ids]})
    portfolio = pd.DataFrame({"account_id": ids, "balance": [rows[i][1] for i in ids],
                              "days_past_due": [rows[i][2] for i in ids]})
    return load_run_view(save_fabricated_run(directory, run_id or new_run_id(), PROFILES, accounts,
                                             portfolio=portfolio, parent_run_id=parent))


@pytest.fixture
def chain(tmp_path):
    first = _run(tmp_path / "runs" / "m1", MONTH_1, run_id="20261101-080000-aaaaaaaaaa")
    second = _run(tmp_path / "runs" / "m2", {k: (0 if k in ("a1", "a2", "a3", "a7") else 1, 90.0, v)
                                             for k, v in MONTH_2.items()},
                  parent=first.run_id, run_id="20261201-080000-bbbbbbbbbb")
    payments = pd.DataFrame({"account_id": ["a1", "a4"], "paid_on": pd.to_datetime(["2026-11-10", "2026-11-20"]),
                             "amount": [30.0, 400.0]})
    return [first, second], {first.run_id: payments}


def _value(table, month, kpi, persona="all", arm="all", from_bucket=None, to_bucket=None):
    rows = table[(table["month"] == month) & (table["kpi"] == kpi) & (table["arm"] == arm)]
    rows = rows[rows["persona_id"].isna()] if persona == "all" else rows[rows["persona_id"] == persona]
    if from_bucket is not None:
        rows = rows[rows["from_bucket"] == from_bucket]
    if to_bucket is not None:
        rows = rows[rows["to_bucket"] == to_bucket]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_buckets():
    assert dpd_bucket(pd.Series([0, 1, 30, 31, 60, 61, 90, 91, 180, 181, 360, 361, None])).tolist() == [
        "current", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "91-180", "91-180", "181-360", "181-360",
        ">360", None]


def test_roll_rates_between_two_months_match_the_hand_count(chain):
    table = kpis(*chain)
    assert _value(table, 1, "roll_rate", from_bucket="1-30", to_bucket="31-60")["value"] == 0.5   # a1
    assert _value(table, 1, "roll_rate", from_bucket="1-30", to_bucket="current")["value"] == 0.5  # a2
    assert _value(table, 1, "roll_rate", from_bucket="31-60", to_bucket="61-90")["value"] == 1.0   # a3
    assert _value(table, 1, "roll_rate", from_bucket="91-180", to_bucket="left")["value"] == 1.0   # a4
    assert _value(table, 1, "roll_rate", from_bucket=">360", to_bucket=">360")["value"] == 1.0     # a6
    forward = _value(table, 1, "roll_forward_rate", from_bucket="1-30")
    assert (forward["value"], forward["numerator"], forward["denominator"]) == (0.5, 1.0, 2.0)
    assert _value(table, 1, "roll_forward_rate", persona=1, from_bucket="91-180")["value"] == 0.0
    last = _value(table, 2, "roll_rate")
    assert last["value"] is None or pd.isna(last["value"])
    assert "no next month" in last["note"]


def test_recovery_and_cure_rates(chain):
    table = kpis(*chain)
    recovery = _value(table, 1, "recovery_rate")
    assert recovery["value"] == pytest.approx(430 / 2050) and recovery["denominator"] == 2050
    assert _value(table, 1, "recovery_rate", persona=1)["value"] == pytest.approx(400 / 1450)
    cure = _value(table, 1, "cure_rate")  # past due: a1 a2 a3 a4 a6; cured: a2 (current), a4 (paid in full)
    assert (cure["value"], cure["numerator"], cure["denominator"]) == (0.4, 2.0, 5.0)
    assert cure["note"] == "paid in full or current next month"
    assert pd.isna(_value(table, 2, "recovery_rate")["value"])
    assert "not available" in _value(table, 2, "cure_rate")["note"]


def test_statistics_without_data_say_not_available_never_zero(chain):
    table = kpis(*chain)
    for kpi in ("promise_kept_rate", "contact_cost", "cost_per_eur_collected"):
        row = _value(table, 1, kpi)
        assert pd.isna(row["value"]) and row["note"].startswith("not available")


def test_by_arm_and_with_costs(chain):
    runs, outcomes = chain
    arms = {runs[0].run_id: pd.Series(["challenger", "challenger", "champion"], index=["a1", "a2", "a3"])}
    contacts = {runs[0].run_id: {(0, "challenger"): {"sms": 2.0}, (0, "champion"): {"letter": 1.0},
                                 (1, "champion"): {"letter": 1.0}}}
    table = kpis(runs, outcomes, arms=arms, costs={"letter": 1.0, "sms": 0.1}, contacts=contacts)
    assert _value(table, 1, "recovery_rate", persona=0, arm="challenger")["value"] == pytest.approx(30 / 300)
    assert _value(table, 1, "recovery_rate", persona=0, arm="champion")["value"] == 0.0
    cost = _value(table, 1, "contact_cost")
    assert cost["value"] == pytest.approx(2 * 0.2 + 1 * 1.0 + 3 * 1.0)
    assert _value(table, 1, "cost_per_eur_collected")["value"] == pytest.approx(4.4 / 430)


def test_the_table_is_json_safe(chain):
    records = kpis_records(kpis(*chain))
    json.dumps(records, allow_nan=False)
    assert {r["persona_id"] for r in records} == {None, 0, 1}


def test_the_chain_is_found_from_any_month(chain):
    runs, _ = chain
    assert [r.run_id for r in run_chain(runs[1].run_dir)] == [runs[0].run_id, runs[1].run_id]
    assert [r.run_id for r in run_chain(runs[0].run_dir)] == [runs[0].run_id, runs[1].run_id]
