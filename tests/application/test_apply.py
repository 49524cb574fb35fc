"""``apply``: next month's accounts with the base run's models, a drift report, approvals carried over.

One real base run (1,500 generated accounts, no settings search, risk model in this process) is made
once per module; every test applies a month derived from it with :mod:`sample_data.monthly`.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from application.apply import apply_run
from application.cli import main
from core.errors import UserError
from portfolio.load import load_portfolio
from runs import open_run
from sample_data.generator import generate_portfolio
from sample_data.monthly import next_month
from strategy.auth import User
from strategy.catalogue import Strategy
from strategy.run_view import load_run_view
from strategy.store import ReviewStore
from tests.user_factory import add_users

SEED = 3
ANALYST, MANAGER, ADMIN = User("alice", "analyst"), User("bob", "manager"), User("root", "admin")
LETTER = Strategy(channel="letter", offer="hardship_referral", tone="friendly", rationale="a letter with free debt advice")


@pytest.fixture(scope="module")
def month1():
    return generate_portfolio(1500, seed=SEED)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, month1):
    from application.pipeline import run_pipeline
    from personas.settings import RunSettings

    settings = RunSettings(target="paid_90d", truth_col="true_persona", parallel_risk=False,
                           currency="EUR").with_discovery(search=False, display_rows=600)
    result = run_pipeline(load_portfolio(month1, filename="month1.csv"), settings)
    directory = tmp_path_factory.mktemp("apply") / "base"
    result.save(directory)
    return directory


def _portfolio(frame: pd.DataFrame, name: str):
    return load_portfolio(frame, filename=name)


@pytest.fixture
def approved_store(tmp_path, base_dir):
    """A review store in which every persona of the base run is proposed and approved (four eyes)."""
    store = ReviewStore(tmp_path / "review.db")
    add_users(store, (ADMIN, ANALYST, MANAGER))
    run = load_run_view(base_dir)
    for pid in run.persona_ids:
        mapping = store.propose(ANALYST, run, pid, LETTER)
        store.approve(MANAGER, run, pid, expected_version=mapping.version)
    yield store
    store.close()


def test_an_unshifted_month_needs_no_review_and_carries_every_approval(tmp_path, base_dir, month1, approved_store):
    month2 = next_month(month1, SEED)
    result = apply_run(base_dir, _portfolio(month2, "month2.csv"), out_dir=tmp_path / "m2", store=approved_store)

    base = load_run_view(base_dir)
    assert result.drift["review_needed"] is False, result.drift["reasons"]
    assert sorted(result.carry["carried"]) == sorted(load_run_view(result.path).persona_ids)
    assert result.carry["review"] == []
    new = load_run_view(result.path)
    assert new.parent_run_id == base.run_id and new.run_id != base.run_id
    assert {p["persona_id"]: p["name"] for p in new.profiles}.items() <= \
        {p["persona_id"]: p["name"] for p in base.profiles}.items()  # ids and names kept
    assert len(new.accounts) == len(month2) and new.accounts["risk_score"].between(0, 1).all()
    folder = open_run(result.path)
    assert folder.has("drift.json") and folder.read_json("drift.json")["base_run_id"] == base.run_id
    assert folder.meta["applied"]["base_run_id"] == base.run_id
    kept = new.portfolio
    assert kept is not None and len(kept) == len(month2) and "iban" not in kept.columns  # PII left out
    # the drift report's sections
    drift = result.drift
    assert {p["persona_id"] for p in drift["personas"]} >= set(new.persona_ids)
    assert all(p["low"] <= p["new_share"] <= p["high"] for p in drift["personas"])
    assert {f["feature"] for f in drift["features"]} == {s["column"] for s in
                                                         folder.read_json("model/features.json")["specs"]}
    assert drift["risk"]["available"] and "score_psi" in drift["risk"]
    from application.pipeline import load_run

    reloaded = load_run(result.path)  # a full run: model, edits and risk model load like any run's
    assert reloaded.risk is not None and reloaded.model.names_ == load_run(base_dir).model.names_


def test_a_moved_archetype_sends_its_persona_back_to_review(tmp_path, base_dir, month1, approved_store):
    month2 = next_month(month1, SEED, shift={"over_indebted": 0.30})
    result = apply_run(base_dir, _portfolio(month2, "month2.csv"), out_dir=tmp_path / "m2s", store=approved_store)

    accounts = result.accounts.assign(truth=month2["true_persona"].to_numpy())
    moved = int(accounts.loc[accounts["truth"] == "over_indebted", "persona_id"].mode().iloc[0])
    drift = result.drift
    assert drift["review_needed"] is True
    assert moved in drift["review_personas"]
    entry = next(p for p in drift["personas"] if p["persona_id"] == moved)
    assert entry["new_share"] - entry["base_share"] > 0.05 and not entry["low"] <= entry["base_share"] <= entry["high"]
    assert "pp" in entry["reason"] and "interval" in entry["reason"]
    assert moved in result.carry["review"] and moved not in result.carry["carried"]
    assert result.carry["carried"], "personas that did not drift still carry over"


def test_a_file_written_differently_is_aligned_to_the_model(tmp_path, base_dir, month1):
    month2 = next_month(month1, SEED)
    plain = apply_run(base_dir, _portfolio(month2, "month2.csv"), out_dir=tmp_path / "plain")
    other = month2.rename(columns={"dispute_flag": "Forderung bestritten", "sms_opt_out": "Widerspruch SMS",
                                   "days_past_due": "Verzugstage", "balance": "Offener Betrag"})
    for column in ("Forderung bestritten", "Widerspruch SMS"):
        other[column] = other[column].map({1: "J", 0: "N"})
    result = apply_run(base_dir, _portfolio(other, "export_de.csv"), out_dir=tmp_path / "other")
    assert result.accounts["persona_id"].tolist() == plain.accounts["persona_id"].tolist()
    assert result.drift["review_needed"] is False


def test_a_missing_model_column_is_refused_and_nothing_is_written(tmp_path, base_dir, month1):
    month2 = next_month(month1, SEED).drop(columns=["portal_logins"])
    with pytest.raises(UserError, match="portal_logins"):
        apply_run(base_dir, _portfolio(month2, "month2.csv"), out_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("case", ["missing file", "unreadable file", "missing run", "existing out", "not a run"])
def test_bad_input_is_one_line_without_a_traceback(tmp_path, base_dir, month1, capsys, case):
    good = tmp_path / "month2.csv"
    next_month(month1, SEED).to_csv(good, index=False)
    run, file, out = str(base_dir), str(good), tmp_path / "new"
    if case == "missing file":
        file = str(tmp_path / "nope.csv")
    elif case == "unreadable file":
        (tmp_path / "bad.csv").write_bytes(b"\x00\x01garbage\n\x02")
        file = str(tmp_path / "bad.csv")
    elif case == "missing run":
        run = str(tmp_path / "no-run")
    elif case == "existing out":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    else:
        (tmp_path / "empty-run").mkdir()
        run = str(tmp_path / "empty-run")
    code = main(["apply", run, file, "--out", str(out)])
    err = capsys.readouterr().err
    assert code in (1, 2)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err
    if case == "existing out":
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    else:
        assert not out.exists()
    assert not list(tmp_path.glob(".staging-*"))


def test_cli_apply_prints_the_summary_and_the_next_command(tmp_path, base_dir, month1, capsys):
    good = tmp_path / "month2.csv"
    next_month(month1, SEED).to_csv(good, index=False)
    assert main(["apply", str(base_dir), str(good), "--out", str(tmp_path / "m2")]) == 0
    out = capsys.readouterr().out
    assert "review needed: no" in out and "→" in out
    assert f"wrote {tmp_path / 'm2'}" in out and "personas export --run" in out
    drift = json.loads((tmp_path / "m2" / "drift.json").read_text(encoding="utf-8"))
    assert drift["review_needed"] is False
