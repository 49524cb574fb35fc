"""Personas told apart only by a missing value are named, and the run is not called settled.

The blind spot this closes: the 1,000,000-account generator run cut the unreachable persona into
"best response hour known and in the morning" and the rest (61 % without an hour) at stability 0.90,
"settled"; every fit makes such a cut alike, so stability cannot see it.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from personas.missing_cuts import GAP, check_run, missing_cuts, with_missing_cuts
from personas.views import settled_verdict


HOUR = {"best_response_hour": [3]}  # the hour's column in the synthetic matrices below


def _behaviour(rng: np.random.Generator, n: int, centre: float) -> np.ndarray:
    return rng.normal(centre, 1.0, size=(n, 3))


def _one_group_cut_by_a_gap(seed: int = 0, n: int = 1200):
    """One behaviour; its hour is missing for 60 % at random and filled with the median. Persona 0 is
    the accounts with an hour in the morning, persona 1 the rest (what the 1M run found)."""
    rng = np.random.default_rng(seed)
    behaviour = _behaviour(rng, n, 0.0)
    hour = rng.normal(14.0, 5.0, n)
    absent = rng.random(n) < 0.6
    filled = np.where(absent, np.median(hour[~absent]), hour)
    Z = np.column_stack([behaviour, (filled - 14.0) / 5.0])
    labels = np.where(~absent & (hour < 12.0), 0, 1)
    return labels, Z, {"best_response_hour": absent}


def test_a_cut_of_one_behaviour_along_a_mostly_missing_column_is_named():
    labels, Z, missing = _one_group_cut_by_a_gap()
    cuts = missing_cuts(labels, Z, missing, HOUR, seed=1)
    assert len(cuts) == 1
    cut = cuts[0]
    assert cut["personas"] == [0, 1] and cut["column"] == "best_response_hour"
    assert cut["missing_shares"][0] == 0.0 and cut["missing_shares"][1] > 0.6
    assert cut["valley_ratio_without"] >= 0.45  # one behaviour without the hour
    assert cut["valley_ratio_recorded"] >= 0.45  # the accounts with an hour are one group cut in two
    assert cut["recorded"][0] == int(np.sum(labels == 0))


def test_a_persona_of_accounts_that_have_no_value_at_all_is_named_too():
    rng = np.random.default_rng(2)
    n = 900
    absent = rng.random(n) < 0.4
    Z = np.column_stack([_behaviour(rng, n, 0.0), np.where(absent, 0.0, rng.normal(0, 1, n))])
    labels = absent.astype(int)  # persona 1: exactly the accounts without a value
    cuts = missing_cuts(labels, Z, {"hour": absent}, {"hour": [3]}, seed=0)
    assert [c["personas"] for c in cuts] == [[0, 1]]
    assert cuts[0]["missing_shares"] == [0.0, 1.0] and cuts[0]["valley_ratio_recorded"] is None


def test_two_behaviours_that_also_differ_in_missing_values_are_not_named():
    """Different behaviour: the accounts that have a value are separated too (a valley)."""
    rng = np.random.default_rng(3)
    n = 800
    behaviour = np.vstack([_behaviour(rng, n, 0.0), _behaviour(rng, n, 4.0)])
    absent = np.r_[np.zeros(n, bool), rng.random(n) < 0.7]
    hour = rng.normal(0, 1, 2 * n)
    Z = np.column_stack([behaviour, np.where(absent, 0.0, hour)])
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    assert missing_cuts(labels, Z, {"hour": absent}, {"hour": [3]}, seed=0) == []


def test_responders_in_the_morning_and_in_the_evening_are_two_behaviours_whatever_is_missing():
    """Alike in every other column, but the accounts that have an hour are two groups (a valley)."""
    rng = np.random.default_rng(8)
    n = 700
    behaviour = _behaviour(rng, 2 * n, 0.0)
    hour = np.r_[rng.normal(8.0, 1.0, n), rng.normal(20.0, 1.0, n)]
    absent = np.r_[np.zeros(n, bool), rng.random(n) < 0.7]
    filled = np.where(absent, np.median(hour[~absent]), hour)
    Z = np.column_stack([behaviour, (filled - 14.0) / 5.0])
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    assert missing_cuts(labels, Z, {"best_response_hour": absent}, HOUR, seed=0) == []


def test_a_small_difference_in_missing_values_is_not_examined():
    labels, Z, missing = _one_group_cut_by_a_gap()
    absent = missing["best_response_hour"]
    # the same cut, but persona 0 now has missing values nearly as often as persona 1
    rng = np.random.default_rng(5)
    absent = absent | ((labels == 0) & (rng.random(len(labels)) < 0.5))
    shares = [absent[labels == p].mean() for p in (0, 1)]
    assert abs(shares[0] - shares[1]) < GAP
    assert missing_cuts(labels, Z, {"best_response_hour": absent}, HOUR, seed=1) == []


def test_the_check_repeats_with_the_same_seed():
    labels, Z, missing = _one_group_cut_by_a_gap()
    assert missing_cuts(labels, Z, missing, HOUR, seed=4) == missing_cuts(labels, Z, missing, HOUR, seed=4)


def test_check_run_reads_the_numeric_columns_of_a_fitted_builder():
    """End to end from a portfolio-like frame (German column name, J/N column, missing hours)."""
    from personas.features import FeatureBuilder

    rng = np.random.default_rng(6)
    n = 1500
    hour = rng.normal(14.0, 5.0, n).round()
    absent = rng.random(n) < 0.6
    frame = pd.DataFrame({
        "Tage überfällig": rng.gamma(2.0, 30.0, n).round(),
        "Offener Betrag": rng.lognormal(6, 1, n).round(2),
        "Rückruf gewünscht": rng.choice(["J", "N"], n),
        "Beste Antwortstunde": pd.array(np.where(absent, np.nan, hour), dtype="Float64"),
        "irrelevant": rng.normal(size=n)})
    builder = FeatureBuilder(list(frame.columns)).fit(frame)
    persona = np.where(~absent & (hour < 12), 0, 1)
    cuts = check_run(frame, persona, builder, seed=42)
    assert [(c["personas"], c["column"]) for c in cuts] == [([0, 1], "Beste Antwortstunde")]
    # the same frame with personas unrelated to the missing hours: nothing to name
    assert check_run(frame, rng.integers(0, 2, n), builder, seed=42) == []


def test_a_run_with_a_missing_value_cut_is_not_settled_and_the_verdict_names_the_pair():
    metrics = {"confidence": 0.9, "settled": True, "settled_threshold": 0.75}
    cut = {"personas": [3, 7], "column": "best_response_hour", "missing_shares": [0.0, 0.61], "recorded": [400, 200],
           "valley_ratio_recorded": 0.7}
    flagged = with_missing_cuts(metrics, [cut])
    assert flagged["settled"] is False and flagged["missing_cuts"] == [cut]
    assert with_missing_cuts(metrics, [])["settled"] is True  # merged away: settled again
    settled, text = settled_verdict(flagged, "en", names={3: "Morning responders", 7: "Unreachable"})
    assert settled is False
    assert "Persona 3 (Morning responders) and Persona 7 (Unreachable)" in text
    assert "best_response_hour" in text and "61%" in text and "keep the personas apart if it is behaviour" in text
    settled_de, text_de = settled_verdict(flagged, "de")
    assert settled_de is False and "best_response_hour" in text_de and "61 %" in text_de
    assert "NICHT" in text_de and "Bearbeiten" in text_de  # translated, not English


def test_a_low_confidence_verdict_keeps_its_reason_and_adds_the_cut():
    metrics = with_missing_cuts({"confidence": 0.5, "settled": False, "settled_threshold": 0.75,
                                 "confidence_limited_by": "kmeans_agreement", "kmeans_agreement": 0.4},
                                [{"personas": [0, 1], "column": "hour", "missing_shares": [1.0, 0.0],
                                  "recorded": [0, 300], "valley_ratio_recorded": None}])
    settled, text = settled_verdict(metrics, "en")
    assert settled is False and "k-means" in text and "too few of them have one" in text


@pytest.mark.parametrize("metrics", [{"personas": 3}, {"personas": 3, "settled": None, "confidence": None}])
def test_runs_saved_before_the_verdict_stay_unknown(metrics):
    assert with_missing_cuts(metrics, []).get("settled") is None
    assert settled_verdict(with_missing_cuts(metrics, []))[0] is None


# ---------------------------------------------------------------------------- on a real run
def _run_frame(train_portfolio):
    return train_portfolio.frame.reset_index(drop=True)


def test_a_run_records_its_check_and_a_persona_cut_by_the_missing_hour_is_named(run_result, train_portfolio):
    """The shared run (generator, 2,500 accounts) has no such cut; cutting its largest persona into
    "best response hour known" and "never answered" makes one, and joining them again clears it."""
    from application.pipeline import missing_cut_metrics

    metrics = run_result.meta["metrics"]
    assert metrics["missing_cuts"] == [] and metrics["settled"] == (metrics["confidence"] >= metrics["settled_threshold"])
    frame = _run_frame(train_portfolio)
    accounts = run_result.accounts.copy()
    largest = int(accounts["persona_id"].value_counts().idxmax())
    no_hour = frame["best_response_hour"].isna().to_numpy()
    cut = accounts["persona_id"].to_numpy().copy()
    cut[(cut == largest) & no_hour] = 99
    assert (cut == 99).sum() >= 50
    flagged = missing_cut_metrics(dict(metrics), frame, accounts.assign(persona_id=cut), run_result.builder,
                                  run_result.meta["seed"])
    named = {tuple(sorted(c["personas"])) for c in flagged["missing_cuts"]}
    assert (largest, 99) in named and all(99 in pair for pair in named)
    assert {c["column"] for c in flagged["missing_cuts"]} == {"best_response_hour"}
    assert flagged["settled"] is False
    joined = missing_cut_metrics(flagged, frame, accounts, run_result.builder, run_result.meta["seed"])
    assert joined["missing_cuts"] == [] and joined["settled"] == metrics["settled"]


def test_an_edit_checks_the_edited_personas_again(run_result, train_portfolio):
    from application.pipeline import apply_edit
    from personas import edits

    merged = apply_edit(run_result, edits.merge([0, 1], user="ana"), train_portfolio)
    metrics = merged.meta["metrics"]
    assert isinstance(metrics["missing_cuts"], list)
    assert metrics["settled"] == (metrics["confidence"] >= metrics["settled_threshold"] and not metrics["missing_cuts"])


# ---------------------------------------------------------------------------- the analyst decides
@pytest.fixture(scope="module")
def contact_rate_run(tmp_path_factory):
    """The recovery suite's world of a persona defined by a missing contact rate (German export,
    3,000 accounts): the unreachable persona and its neighbours differ only in whether
    "Kontaktquote" has a value, which here is behaviour, so the app must ask rather than decide."""
    from application.pipeline import run_pipeline
    from benchmarks.worlds import world
    from personas.settings import RunSettings
    from portfolio.load import load_portfolio

    item = world("missing_by_persona")
    portfolio = load_portfolio(item.make(3_000, 11), filename="kontaktquote.csv")
    result = run_pipeline(portfolio, RunSettings(truth_col="true_persona", seed=11, language=item.language))
    folder = tmp_path_factory.mktemp("cuts") / "run"
    result.save(folder)
    return folder, portfolio


def test_keeping_a_named_pair_apart_is_recorded_and_settles_the_run_when_nothing_else_is_open(contact_rate_run, tmp_path):
    from application.pipeline import apply_edit, load_run
    from personas import edits

    folder, portfolio = contact_rate_run
    run = load_run(folder)
    metrics = run.meta["metrics"]
    cuts = metrics["missing_cuts"]
    assert cuts and {c["column"] for c in cuts} == {"Kontaktquote"}
    assert metrics["settled"] is False
    for cut in cuts:
        run = apply_edit(run, edits.keep_apart(cut["personas"], cut["column"], user="ana"))
    after = run.meta["metrics"]
    assert all(c["kept_apart_by"] == "ana" for c in after["missing_cuts"])
    assert after["settled"] == (after["confidence"] >= after["settled_threshold"])
    assert run.accounts["persona_id"].equals(load_run(folder).accounts["persona_id"])  # personas unchanged
    settled, text = settled_verdict(after, "en")
    assert settled == after["settled"] and "ana decided that this is behaviour" in text
    saved = run.save(tmp_path / "kept")
    again = load_run(saved)
    assert again.meta["metrics"]["missing_cuts"] == after["missing_cuts"]
    assert [e["action"] for e in again.edits][-len(cuts):] == ["keep_apart"] * len(cuts)
    # a merge afterwards makes other personas: the check runs again and no decision carries over
    merged = apply_edit(again, edits.merge([p for p in again.model.persona_ids if p not in cuts[0]["personas"]][:2],
                                           user="ana"), portfolio)
    assert not any(c.get("kept_apart_by") for c in merged.meta["metrics"]["missing_cuts"])


def test_a_pair_that_is_not_named_cannot_be_kept_apart(contact_rate_run):
    from application.pipeline import apply_edit, load_run
    from core.errors import UserError
    from personas import edits

    run = load_run(contact_rate_run[0])
    named = {tuple(sorted(c["personas"])) for c in run.meta["metrics"]["missing_cuts"]}
    ids = run.model.persona_ids
    other = next((a, b) for a in ids for b in ids if a < b and (a, b) not in named)
    with pytest.raises(UserError, match="not told apart by whether Kontaktquote has a value"):
        apply_edit(run, edits.keep_apart(list(other), "Kontaktquote", user="ana"))
    with pytest.raises(UserError, match="does not exist"):
        apply_edit(run, edits.keep_apart([0, 99], "Kontaktquote", user="ana"))


def test_the_cli_keeps_a_pair_apart_and_prints_the_verdict(contact_rate_run, tmp_path, capsys):
    from application.cli import main

    folder, _ = contact_rate_run
    cut = json.loads((folder / "run.json").read_text("utf-8"))["metrics"]["missing_cuts"][0]
    a, b = cut["personas"]
    out = tmp_path / "kept"
    code = main(["edit", str(folder), "--keep-apart", str(a), str(b), cut["column"], "--user", "ana", "--out", str(out),
                 "--language", "en"])
    assert code == 0, capsys.readouterr().err
    kept = json.loads((out / "run.json").read_text("utf-8"))["metrics"]["missing_cuts"]
    assert [c["kept_apart_by"] for c in kept if sorted(c["personas"]) == sorted([a, b])] == ["ana"]
    assert "decided that this is behaviour" in capsys.readouterr().out
    assert main(["edit", str(folder), "--keep-apart", "x", str(b), cut["column"], "--user", "ana",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "--keep-apart: 'x' is not a persona id" in capsys.readouterr().err
