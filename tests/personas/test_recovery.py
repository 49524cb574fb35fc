"""Persona recovery on portfolios written apart from the sample generator (issue 15, fast subset).

The worlds come from ``benchmarks.worlds`` (the full suite: ``python -m benchmarks.recovery``). Each
world is run once through the app's pipeline on 3,000 accounts and shared by the tests below.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from benchmarks.worlds import world
from personas.features import FeatureBuilder, feature_columns

ROWS = 3_000


def _run(key: str, seed: int = 11):
    from application.pipeline import run_pipeline
    from personas.settings import RunSettings
    from portfolio.load import load_portfolio

    item = world(key)
    portfolio = load_portfolio(item.make(ROWS, seed), filename=f"{key}.csv")
    result = run_pipeline(portfolio, RunSettings(truth_col="true_persona", seed=seed, language=item.language))
    return portfolio.frame.reset_index(drop=True), result


def _cramers_v(labels: np.ndarray, values: np.ndarray) -> float:
    table = pd.crosstab(labels, values).to_numpy().astype(float)
    if min(table.shape) < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))


@pytest.fixture(scope="module")
def irrelevant_run():
    return _run("irrelevant_categoricals")


@pytest.fixture(scope="module")
def sector_run():
    return _run("sector_marks_persona")


@pytest.fixture(scope="module")
def missing_run():
    return _run("missing_at_random")


def test_categoricals_without_behavioural_meaning_do_not_split_personas(irrelevant_run):
    frame, result = irrelevant_run
    labels = result.accounts["persona_id"].to_numpy()
    for column in ("region", "product", "payment_method"):
        assert adjusted_rand_score(frame[column], labels) < 0.02
        assert _cramers_v(labels, frame[column].to_numpy()) < 0.15  # independence ~0.05 at this size
    assert result.meta["metrics"]["truth_ari"] >= 0.7


def test_a_level_marking_one_persona_does_not_split_the_other_personas(sector_run):
    frame, result = sector_run
    spec = next(s for s in result.builder.specs_ if s["column"] == "Branche")
    kept = {level for level, value in zip(spec["levels"], spec["level_values"]) if value > 0}
    assert kept == {"Energie"}  # the marking level is kept, the behaviour-free ones are not
    labels = result.accounts["persona_id"].to_numpy()
    others = frame["Branche"].to_numpy() != "Energie"
    assert _cramers_v(labels[others], frame["Branche"].to_numpy()[others]) < 0.15
    assert result.meta["metrics"]["truth_ari"] >= 0.7


def test_a_column_missing_for_20_percent_at_random_creates_no_persona(missing_run):
    frame, result = missing_run
    labels = result.accounts["persona_id"].to_numpy()
    missing = frame["contact_rate"].isna().to_numpy()
    assert 0.17 < missing.mean() < 0.23
    assert "contact_rate (missing)" not in result.builder.feature_names_out_
    assert _cramers_v(labels, missing) < 0.15
    shares = pd.Series(missing).groupby(labels).mean()
    assert shares.max() < 0.4  # no persona made of accounts whose contact rate is unknown


def test_run_json_metrics_are_those_of_the_final_fit_with_a_verdict(irrelevant_run):
    _, result = irrelevant_run
    metrics = result.meta["metrics"]
    assert metrics["metrics_of"] == "final fit"
    assert metrics["personas"] == result.accounts["persona_id"].nunique()
    assert 0 <= metrics["confidence"] <= 1
    assert metrics["settled"] == (metrics["confidence"] >= metrics["settled_threshold"])
    assert "consolidated" in result.meta["parameters"]["chosen"]


# ---------------------------------------------------------------------------- features alone (fast)
def _builder(key: str, rows: int = 2_000, seed: int = 5) -> tuple[FeatureBuilder, pd.DataFrame]:
    from portfolio.load import load_portfolio

    portfolio = load_portfolio(world(key).make(rows, seed), filename=f"{key}.csv")
    frame = portfolio.frame
    columns = [c for c in feature_columns(frame, portfolio.roles) if c != "true_persona"]
    return FeatureBuilder(columns).fit(frame), frame


def test_numeric_columns_of_pure_noise_get_almost_no_weight():
    builder, _ = _builder("noise_numerics")
    weight = {s["column"]: s["weight"] for s in builder.specs_}
    for noise in ("internal_score", "household_size", "credit_limit", "branch_distance_km", "model_drift_index"):
        assert weight[noise] < 0.1
    for behaviour in ("balance", "days_past_due", "payments_12m", "contact_rate"):
        assert weight[behaviour] > 0.5


def test_missingness_that_is_behaviour_keeps_its_flag():
    builder, _ = _builder("missing_by_persona")
    assert "Kontaktquote (missing)" in builder.feature_names_out_      # the unreachable persona
    assert "Monatseinkommen (missing)" not in builder.feature_names_out_  # 30 % at random


def test_a_behaviour_measured_three_times_weighs_like_one():
    builder, _ = _builder("redundant_features")
    weight = {s["column"]: s["weight"] for s in builder.specs_}
    copies = [weight[c] ** 2 for c in ("balance", "Nettobetrag", "Hauptforderung")]
    assert 0.7 < sum(copies) < 1.3
    assert weight["Kontaktquote"] > 0.9


def test_a_dunning_level_cut_from_days_past_due_is_left_out_of_the_distances():
    builder, _ = _builder("redundant_features")
    spec = next(s for s in builder.specs_ if s["column"] == "Mahnstufe")
    assert spec["copy_of"] in ("days_past_due", "Wochen im Verzug")  # both rebuild it exactly
    assert spec["weight"] <= 0.02
    assert "step function of" in FeatureBuilder.describe(spec)
    weight = {s["column"]: s["weight"] for s in builder.specs_}
    days = [weight[c] ** 2 for c in ("days_past_due", "Wochen im Verzug")]
    assert 0.7 < sum(days) < 1.3  # the days weigh like one behaviour without the level counted as a copy
    assert "Mahnstufe" in builder.feature_names_out_  # still in the matrix, so the profiles show it


def test_a_dunning_level_written_as_text_is_left_out_of_the_distances_too():
    from portfolio.load import load_portfolio

    frame = world("redundant_features").make(ROWS, 11)
    frame["Mahnstufe"] = frame["Mahnstufe"].map({0: "keine", 1: "1. Mahnung", 2: "2. Mahnung", 3: "3. Mahnung",
                                                 4: "Inkasso"})
    portfolio = load_portfolio(frame, filename="mahnstufe_text.csv")
    columns = [c for c in feature_columns(portfolio.frame, portfolio.roles) if c != "true_persona"]
    builder = FeatureBuilder(columns).fit(portfolio.frame)
    spec = next(s for s in builder.specs_ if s["column"] == "Mahnstufe")
    assert spec["kind"] == "categorical" and spec["copy_of"] in ("days_past_due", "Wochen im Verzug")
    assert not any(name.startswith("Mahnstufe") for name in builder.feature_names_out_)  # no level as a flag
    assert "steps of" in FeatureBuilder.describe(spec)


def test_a_j_n_flag_cut_from_days_past_due_with_missing_values_is_a_copy_too():
    from portfolio.load import load_portfolio

    frame = world("redundant_features").make(ROWS, 11)
    frame["Inkasso"] = np.where(frame["Verzugstage"] > 90, "J", "N")
    frame.loc[frame.sample(frac=0.1, random_state=1).index, "Inkasso"] = None  # 10 % without a flag
    portfolio = load_portfolio(frame, filename="inkasso_flag.csv")
    columns = [c for c in feature_columns(portfolio.frame, portfolio.roles) if c != "true_persona"]
    builder = FeatureBuilder(columns).fit(portfolio.frame)
    spec = next(s for s in builder.specs_ if s["column"] == "Inkasso")
    assert spec["copy_of"] in ("days_past_due", "Wochen im Verzug")
    assert not any(name.startswith("Inkasso") for name in builder.feature_names_out_)


def test_the_verdict_says_not_settled_below_the_threshold():
    from personas.views import settled_verdict

    settled, text = settled_verdict({"confidence": 0.42, "settled": False, "settled_threshold": 0.75})
    assert settled is False and "NOT settled" in text and "0.42" in text
    settled, text = settled_verdict({"confidence": 0.93, "settled": True, "settled_threshold": 0.75})
    assert settled is True and text.startswith("Personas settled")
    assert settled_verdict({"personas": 3})[0] is None


def test_the_cli_summary_prints_the_verdict(run_result, capsys, tmp_path):
    from application.cli_run import _summary

    _summary(run_result, tmp_path, 1.0)
    out = capsys.readouterr().out
    assert "settled" in out.lower() and "confidence" in out


def test_a_column_whose_missingness_is_behaviour_is_filled_with_one_value_not_by_lookalikes():
    # The unreachable persona has no contact rate: its "missing" flag carries the behaviour, and the
    # value filled in is one value for all of them (the observed median), so that nearest-group
    # imputation does not cut the persona into pieces by the value it happened to get.
    builder, frame = _builder("missing_by_persona")
    spec = next(s for s in builder.specs_ if s["column"] == "Kontaktquote")
    assert spec["missing_fill"] == "median" and spec["missing_weight"] > 0
    X = builder.transform(frame)
    column = builder.feature_names_out_.index("Kontaktquote")
    filled = X[frame["Kontaktquote"].isna().to_numpy(), column]
    assert len(filled) > 50 and np.ptp(filled) == 0
    # a column missing at random has no flag and keeps the imputation from similar accounts
    income = next(s for s in builder.specs_ if s["column"] == "Monatseinkommen")
    assert "missing_fill" not in income


def test_a_builder_saved_before_the_median_fill_keeps_imputing_from_lookalikes():
    builder, frame = _builder("missing_by_persona")
    saved = builder.to_dict()
    for spec in saved["specs"]:
        spec.pop("missing_fill", None)  # the saved form of the former builder
    old = FeatureBuilder.from_dict(saved)
    column = old.feature_names_out_.index("Kontaktquote")
    filled = old.transform(frame)[frame["Kontaktquote"].isna().to_numpy(), column]
    assert np.ptp(filled) > 0  # nearest-group centroids, as that run was fitted with


def test_two_groups_told_apart_by_a_flag_alone_show_an_empty_valley():
    from personas.consolidate import valley_ratio

    rng = np.random.default_rng(0)
    shared = rng.normal(size=(600, 3))
    flag = np.r_[np.ones(300), np.zeros(300)][:, None]
    Z = np.hstack([shared, flag])
    assert valley_ratio(Z[:300], Z[300:], np.random.default_rng(1)) < 0.1
    # the same accounts without the flag: one behaviour, no valley
    assert valley_ratio(shared[:300], shared[300:], np.random.default_rng(1)) > 0.7


def test_consolidation_splits_a_persona_hiding_two_behaviours_outside_the_tree():
    from personas.consolidate import split_by_kmeans

    rng = np.random.default_rng(2)
    Z = np.vstack([rng.normal(0, 1, (800, 4)), rng.normal(0, 1, (800, 4)) + [6, 0, 0, 0],
                   rng.normal(0, 1, (800, 4)) + [0, 8, 0, 0]])
    labels = np.r_[np.zeros(1600, dtype=np.int64), np.ones(800, dtype=np.int64)]  # two behaviours as one
    log: list = []
    split = split_by_kmeans(labels, Z, np.random.default_rng(3), log)
    assert len(np.unique(split)) == 3
    assert adjusted_rand_score(np.repeat([0, 1, 2], 800), split) > 0.95
    # a single behaviour is left whole
    one = split_by_kmeans(np.zeros(800, dtype=np.int64), rng.normal(size=(800, 4)), np.random.default_rng(4), [])
    assert len(np.unique(one)) == 1
