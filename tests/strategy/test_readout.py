"""The read-out (strategy/readout.py) recovers a planted challenger effect and names no winner too early."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from strategy.experiments import Experiment
from strategy.readout import readout, verdict
from tests.strategy.outcome_factory import HandExperiment, planted_run


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return planted_run(tmp_path_factory.mktemp("planted") / "r", n_per_persona=4000, effect=0.06, seed=11)


def _difference(result, comparison="challenger − champion"):
    rows = result.differences
    return rows[(rows["persona_id"] == 0) & (rows["comparison"] == comparison)].iloc[0]


def test_the_planted_effect_is_recovered_with_its_sign_and_covered_by_the_interval(planted):
    run, payments, experiments, truth = planted
    result = readout(run, payments, experiments)
    diff = _difference(result)
    assert diff["pay_rate_difference"] > 0
    assert diff["pay_rate_low"] <= truth["pay_rate_difference"] <= diff["pay_rate_high"]
    assert diff["verdict"] == "challenger better"
    assert diff["collected_per_eur_low"] <= diff["collected_per_eur_difference"] <= diff["collected_per_eur_high"]
    assert diff["collected_per_eur_difference"] > 0


def test_arms_come_from_the_experiments_hash_and_rows_add_up(planted):
    run, payments, experiments, truth = planted
    rows = readout(run, payments, experiments).rows
    persona = rows[rows["persona_id"] == 0].set_index("arm")
    assert persona.loc["challenger", "accounts"] == int((truth["arms"] == "challenger").sum())
    assert rows["accounts"].sum() == len(run.accounts)
    assert rows.loc[rows["persona_id"] == 1, "arm"].tolist() == ["champion"]
    assert rows["collected"].sum() == pytest.approx(payments["amount"].sum(), abs=0.05)
    one = persona.loc["champion"]
    assert one["pay_rate"] == pytest.approx(one["paying_accounts"] / one["accounts"])
    assert one["pay_rate_low"] < one["pay_rate"] < one["pay_rate_high"]


def test_no_winner_below_the_minimum_sample_stored_with_the_experiment(planted):
    run, payments, _experiments, _truth = planted
    strict = {0: HandExperiment("exp-planted", 0.3, min_sample_per_arm=5000)}
    diff = _difference(readout(run, payments, strict))
    assert diff["verdict"] == f"too few accounts ({diff['accounts_a']:,} of 5,000 needed)"
    assert diff["collected_verdict"].startswith("too few accounts")
    assert diff["min_sample_source"] == "stored with the experiment"


def test_no_winner_in_a_small_test_even_with_a_real_effect(tmp_path):
    run, payments, experiments, _truth = planted_run(tmp_path / "small", n_per_persona=600, effect=0.15, seed=3)
    diff = _difference(readout(run, payments, experiments))
    assert diff["verdict"].startswith("too few accounts (")
    assert "champion's pay rate" in diff["min_sample_source"]
    assert diff["min_sample_per_arm"] > diff["accounts_a"]


def test_no_difference_when_nothing_was_planted(tmp_path):
    run, payments, experiments, _truth = planted_run(tmp_path / "null", n_per_persona=5000, effect=0.0, seed=5)
    diff = _difference(readout(run, payments, experiments))
    assert diff["pay_rate_low"] <= 0 <= diff["pay_rate_high"] and diff["verdict"] == "no difference"


def test_a_holdout_is_compared_with_the_champion(tmp_path):
    run, payments, experiments, _truth = planted_run(tmp_path / "holdout", n_per_persona=4000, holdout_share=0.2,
                                                     seed=7, min_sample=500)
    diff = _difference(readout(run, payments, experiments), "champion − holdout")
    assert diff["pay_rate_difference"] > 0 and diff["verdict"] == "champion better"


def test_explicit_arms_and_a_real_experiment_record_are_accepted(planted):
    run, payments, _experiments, truth = planted
    experiment = Experiment(run_id=run.run_id, persona_id=0, experiment_id="exp-planted", challenger_share=0.3,
                            holdout_share=0.0, planned_days=60, champion_version_id=1, challenger_version_id=2,
                            challenger_hash="0" * 64, state="approved", proposed_by="ana", approved_by="max",
                            approved_at="2026-12-01T10:00:00Z", min_sample_per_arm=None, base_pay_rate=0.2,
                            min_detectable_effect=0.05, started_run_id=run.run_id)
    by_hash = readout(run, payments, {0: experiment})
    explicit = readout(run, payments, {0: experiment}, arms=truth["arms"])
    pd.testing.assert_frame_equal(by_hash.rows, explicit.rows)
    assert _difference(by_hash)["min_sample_per_arm"] == 1094
    assert "stored base pay rate 20.0%" in _difference(by_hash)["min_sample_source"]


def test_contact_cost_only_where_costs_and_journeys_are_known(planted):
    run, payments, experiments, _truth = planted
    contacts = {(0, "champion"): {"letter": 2.0}, (0, "challenger"): {"letter": 1.0, "sms": 2.0}}
    without = readout(run, payments, experiments)
    assert without.rows["contact_cost"].isna().all()
    assert any("no cost per channel configured" in note for note in without.notes)
    rows = readout(run, payments, experiments, costs={"letter": 0.85, "sms": 0.09}, contacts=contacts).rows
    persona = rows[rows["persona_id"] == 0].set_index("arm")
    assert persona.loc["champion", "contact_cost"] == pytest.approx(persona.loc["champion", "accounts"] * 1.70)
    assert persona.loc["challenger", "contact_cost"] == pytest.approx(persona.loc["challenger", "accounts"] * 1.03)
    assert pd.isna(rows.loc[rows["persona_id"] == 1, "contact_cost"]).all()


def test_the_window_counts_only_payments_inside_it(planted):
    import datetime

    run, payments, experiments, _truth = planted
    first_week = (datetime.date(2026, 12, 10), datetime.date(2026, 12, 16))
    result = readout(run, payments, experiments, window=first_week)
    inside = payments[(payments["paid_on"] >= "2026-12-10") & (payments["paid_on"] <= "2026-12-16")]
    assert result.rows["collected"].sum() == pytest.approx(inside["amount"].sum(), abs=0.05)
    assert result.window == ("2026-12-10", "2026-12-16")


def test_the_readout_is_json_safe_and_reads_as_text(planted):
    run, payments, experiments, _truth = planted
    result = readout(run, payments, experiments)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["differences"][0]["verdict"] == "challenger better"
    assert data["rows"][-1]["contact_cost"] is None and "Newcombe" in data["methods"]["pay_rate_difference"]
    text = "\n".join(result.lines())
    assert "challenger − champion: pay rate +" in text and "verdict: challenger better" in text


def test_without_a_kept_portfolio_collected_per_euro_is_not_available(tmp_path):
    from runs import new_run_id
    from strategy.run_view import load_run_view
    from tests.run_factory import save_fabricated_run

    accounts = pd.DataFrame({"account_id": ["a", "b"], "persona_id": [0, 0]})
    run = load_run_view(save_fabricated_run(tmp_path / "r", new_run_id(), [
        {"persona_id": 0, "name": "x", "size": 2, "share_accounts": 1.0, "share_balance": 1.0}], accounts))
    payments = pd.DataFrame({"account_id": ["a"], "paid_on": pd.to_datetime(["2026-12-02"]), "amount": [5.0]})
    result = readout(run, payments, {})
    assert result.rows["collected_per_eur"].isna().all() and result.rows["pay_rate"].tolist() == [0.5]
    assert any("no portfolio with balances" in note for note in result.notes)


@pytest.mark.parametrize("n, low, high, expected", [
    (99, 0.1, 0.2, "too few accounts (99 of 100 needed)"), (100, 0.1, 0.2, "challenger better"),
    (100, -0.2, -0.1, "champion better"), (100, -0.1, 0.1, "no difference")])
def test_verdicts(n, low, high, expected):
    assert verdict(n, 100, low, high) == expected


def test_channel_costs_come_from_settings_text_or_flags():
    from core.errors import UserError
    from strategy.settings import StrategySettings, channel_costs_from_text

    assert channel_costs_from_text("letter=0.85, sms=0.09") == {"letter": 0.85, "sms": 0.09}
    assert channel_costs_from_text(["app_push=0.01"]) == {"app_push": 0.01, "push": 0.01}
    assert StrategySettings(channel_costs=(("letter", 0.85),)).channel_cost_table() == {"letter": 0.85}
    assert StrategySettings().channel_cost_table() == {}
    with pytest.raises(UserError, match="CHANNEL=EUR"):
        channel_costs_from_text("letter=-1")
