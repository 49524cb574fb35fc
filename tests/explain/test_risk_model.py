"""The risk model: target handling, features, out-of-fold scores, metrics, SHAP additivity, storage."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explain.features import NEVER_FEATURE_ROLES, event_vector
from explain.risk import RiskResult, RiskSettings, fit_risk_model
from explain.shapley import AdditivityError, check_additivity
from core.errors import UserError
from tests.explain.conftest import FAST, DirReader, portfolio_of


def test_cross_validated_roc_auc_is_at_least_080_and_reported_in_run_json(risk_5k):
    section = risk_5k.run_json_section()
    assert section["roc_auc"]["value"] >= 0.80
    assert section["roc_auc"]["ci_low"] <= section["roc_auc"]["value"] <= section["roc_auc"]["ci_high"]
    for name in ("roc_auc", "pr_auc", "brier", "log_loss", "ks"):
        assert set(section[name]) == {"value", "ci_low", "ci_high"}
    assert section["score_direction"] == "probability of NOT paying"
    assert section["shap_scale"] == "log-odds" and section["cv_folds"] == 5
    assert isinstance(section["calibrated"], bool) and section["calibration_reason"]
    json.dumps(section, allow_nan=False)  # valid JSON for run.json


def test_no_pii_sensitive_target_or_truth_column_is_ever_a_feature(risk_5k, generator_portfolio):
    roles = generator_portfolio.roles
    banned = set(roles.pii) | set(roles.sensitive) | set(roles.targets) | set(roles.truth) | {"account_id"}
    assert banned >= {"email", "iban", "age", "gender", "paid_90d", "amount_recovered_90d", "true_persona"}
    for features in (risk_5k.features, risk_5k.model.encoder.features, list(risk_5k.shap.values.columns)):
        assert not banned & set(features)
        assert {"balance", "days_past_due"} <= set(features)
    assert risk_5k.model.classifier.n_features_in_ == len(risk_5k.features)
    assert all(roles.roles[f] not in NEVER_FEATURE_ROLES for f in risk_5k.features)


def test_a_column_marked_feature_and_target_at_once_is_still_not_used():
    p = portfolio_of(600, seed=3)
    frame = p.frame.assign(paid_copy=p.frame["paid_90d"])
    p.roles.roles["paid_copy"] = "feature"   # a user mislabels a copy of the outcome as a feature ...
    result = fit_risk_model(frame, p.roles, target="paid_copy", settings=RiskSettings(bootstrap_resamples=10))
    assert "paid_copy" not in result.features  # ... it is the target now, so it never feeds the model
    assert "paid_90d" not in result.features


def test_target_event_default_and_paid_give_mirrored_scores():
    p = portfolio_of(2_000, seed=11)
    mirrored = p.frame.assign(paid_90d=1 - p.frame["paid_90d"])
    as_paid = fit_risk_model(p.frame, p.roles, target="paid_90d", target_event="paid", settings=FAST)
    as_default = fit_risk_model(mirrored, p.roles, target="paid_90d", target_event="default", settings=FAST)
    np.testing.assert_allclose(as_paid.scores["risk_score"], as_default.scores["risk_score"], atol=1e-9)
    assert as_paid.metrics["roc_auc"]["value"] == pytest.approx(as_default.metrics["roc_auc"]["value"], abs=1e-12)
    # risk is about NOT paying: accounts that were not paid score higher on average
    unpaid = p.frame["paid_90d"].to_numpy() == 0
    assert as_paid.scores["risk_score"][unpaid].mean() > as_paid.scores["risk_score"][~unpaid].mean() + 0.2


@pytest.mark.parametrize("values", [["yes", "no", "YES", " No "], ["true", "false", "True", "FALSE"], [1, 0, 1, 0]])
def test_binary_outcome_spellings_are_accepted(values):
    event = event_vector(pd.DataFrame({"paid": values}), "paid", "paid")
    assert event.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("values, shown", [([0, 1, 2, 1], "2"), (["yes", "maybe", "no", "no"], "maybe")])
def test_a_non_binary_outcome_is_a_user_error_naming_column_and_values(values, shown):
    with pytest.raises(UserError, match=rf'"outcome".*{shown}'):
        event_vector(pd.DataFrame({"outcome": values}), "outcome", "paid")


def test_missing_or_unnamed_target_is_never_guessed():
    p = portfolio_of(300, seed=5)
    with pytest.raises(UserError, match="Name the outcome column"):
        fit_risk_model(p.frame, p.roles, target=None)
    with pytest.raises(UserError, match='"no_such_column"'):
        fit_risk_model(p.frame, p.roles, target="no_such_column")


def test_shap_values_add_up_to_the_model_log_odds(risk_5k, generator_portfolio):
    shap = risk_5k.shap
    log_odds = risk_5k.model.log_odds(generator_portfolio.frame)
    total = shap.base_value + shap.values.to_numpy().sum(axis=1)
    assert np.max(np.abs(total - log_odds)) <= 1e-6
    assert shap.meta()["max_additivity_error"] <= 1e-6 and not shap.sampled
    assert len(shap.values) == len(generator_portfolio.frame)


def test_additivity_failure_raises():
    values = np.array([[0.5, -0.2], [0.1, 0.1]])
    check_additivity(values, 0.3, np.array([0.6, 0.5]))
    with pytest.raises(AdditivityError):
        check_additivity(values, 0.3, np.array([0.6, 0.5 + 1e-4]))


def test_shap_sign_matches_risk_direction(risk_5k):
    """Higher days past due raises the risk of NOT paying: its SHAP values rise with the value."""
    dependence = risk_5k.dependence("days_past_due")
    correlation = np.corrcoef(dependence["value"].astype(float), dependence["shap"])[0, 1]
    assert correlation > 0.5


def test_above_the_cap_every_account_has_reasons_and_the_stored_table_is_a_stated_sample():
    p = portfolio_of(1_200, seed=9)
    settings = RiskSettings(bootstrap_resamples=10, shap_max_rows=500)
    result = fit_risk_model(p.frame, p.roles, target="paid_90d", settings=settings)
    assert len(result.shap.values) == 500 and result.shap.sampled
    assert result.run_json_section()["shap_sample_size"] == 500
    assert result.shap.meta()["accounts_with_reasons"] == 1_200
    reasons = result.scores["reasons"]
    assert reasons.notna().all() and (reasons.str.len() > 0).all() and not reasons.str.contains("not explained").any()
    # an account outside the stored table: its reasons are its own top SHAP values, and it has a waterfall
    outside = result.scores.loc[~result.scores["account_id"].isin(result.shap.values.index), "account_id"].iloc[0]
    assert result.has_account(outside)
    data = result.waterfall(outside)
    row = p.frame[p.frame["account_id"].astype(str) == outside]
    assert data["log_odds"] == pytest.approx(float(result.model.log_odds(row)[0]), abs=1e-9)
    top = data["contributions"]["label"].head(3).tolist()
    assert [part.split(" ")[0] for part in data["reasons"].split("; ")] == [label.split(" ")[0] for label in top]
    card = result.model_card()
    assert "every one of the 1,200 accounts" in card and "seeded sample of 500" in card


def test_scores_are_out_of_fold_probabilities_of_not_paying(risk_5k, generator_portfolio):
    scores = risk_5k.scores
    assert list(scores.columns) == ["account_id", "risk_score", "reasons"]
    assert scores["risk_score"].between(0, 1).all()
    assert scores["account_id"].tolist() == generator_portfolio.frame["account_id"].astype(str).tolist()
    refit = risk_5k.model.risk_score(generator_portfolio.frame)
    assert not np.allclose(refit, scores["risk_score"])  # the refit model saw the accounts; OOF did not
    assert "out-of-fold" in risk_5k.model_card()


def test_persona_risk_and_persona_explanation(risk_5k, generator_portfolio):
    assert len(risk_5k.persona_risk) == 7
    table = risk_5k.persona_explanation()
    assert set(table["feature"]) == set(risk_5k.features)
    one = table[(table["persona_id"] == 0) & (table["feature"] == "days_past_due")].iloc[0]
    assert one["difference"] == pytest.approx(one["persona_mean_shap"] - one["portfolio_mean_shap"])
    # weighted by size, the persona means average back to the portfolio mean
    dpd = table[table["feature"] == "days_past_due"]
    assert np.average(dpd["difference"], weights=dpd["accounts"]) == pytest.approx(0, abs=1e-9)


def test_save_and_load_round_trip_and_refuse_a_damaged_model(risk_5k, generator_portfolio, tmp_path):
    risk_5k.save(tmp_path)
    for name in ("shap_values.parquet", "model_card.md", "fairness/groups.parquet", "fairness/summary.json",
                 "risk/result.json", "risk/model.json", "risk/classifier.skops"):
        assert (tmp_path / name).exists(), name
    assert not (tmp_path / "risk/manifest.json").exists()  # the run's signed manifest covers the folder
    shap_file = pd.read_parquet(tmp_path / "shap_values.parquet")
    assert {"account_id", "base_value", "log_odds", *risk_5k.features} == set(shap_file.columns)
    loaded = RiskResult.load(DirReader(tmp_path))
    pd.testing.assert_frame_equal(loaded.scores, risk_5k.scores)
    assert loaded.metrics == risk_5k.metrics
    account = risk_5k.scores["account_id"].iloc[3]
    assert loaded.waterfall(account)["log_odds"] == pytest.approx(risk_5k.waterfall(account)["log_odds"])
    new = generator_portfolio.frame.head(20)
    np.testing.assert_allclose(loaded.score(new)["risk_score"], risk_5k.score(new)["risk_score"])
    damaged = tmp_path / "risk/classifier.skops"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    with pytest.raises(UserError, match="classifier.skops"):
        RiskResult.load(DirReader(tmp_path))


def test_waterfall_adds_up_and_carries_reasons(risk_5k):
    account = risk_5k.scores["account_id"].iloc[10]
    data = risk_5k.waterfall(account)
    table = data["contributions"]
    assert data["base_value"] + table["contribution"].sum() == pytest.approx(data["log_odds"], abs=1e-9)
    assert table["end"].iloc[-1] == pytest.approx(data["log_odds"], abs=1e-9)
    assert 0 <= data["probability"] <= 1 and data["reasons"]
    with pytest.raises(KeyError):
        risk_5k.waterfall("no such account")


def test_progress_reports_the_risk_stages():
    p = portfolio_of(500, seed=2)
    stages = []
    fit_risk_model(p.frame, p.roles, target="paid_90d", settings=RiskSettings(bootstrap_resamples=5),
                   progress=lambda stage, fraction: stages.append((stage, fraction)))
    assert {s for s, _ in stages} == {"risk model", "shap", "fairness"}
    assert all(0 <= f <= 1 for _, f in stages)


def test_german_erp_export_is_modelled_and_audited_under_its_own_column_names():
    p = portfolio_of(900, seed=8, language="de")
    result = fit_risk_model(p.frame, p.roles, target="bezahlt_90_tage",
                            settings=RiskSettings(bootstrap_resamples=10, language="de"))
    assert not {"Vorname", "IBAN", "Alter", "Geschlecht", "eingezogen_90_tage", "true_persona"} & set(result.features)
    assert {s["attribute"] for s in result.fairness.summary} == {"Alter", "Geschlecht"}
    ages = result.fairness.groups[result.fairness.groups["attribute"] == "Alter"]["group"].tolist()
    assert ages == ["18–29", "30–44", "45–59", "60+"]
    assert result.scores["reasons"].str.contains("Verzugstage|Offener Betrag|Gebrochene").any()


def test_a_released_frame_gives_the_same_result_and_is_emptied(generator_portfolio):
    """release_frame: the risk step's own copy of the portfolio loses its columns after the fit
    (memory of the risk process at 1,000,000 accounts); nothing the result holds changes."""
    p = generator_portfolio
    settings = RiskSettings(bootstrap_resamples=10, shap_max_rows=500)
    kept = fit_risk_model(p.frame, p.roles, target="paid_90d", settings=settings)
    given = p.frame.copy()
    released = fit_risk_model(given, p.roles, target="paid_90d", settings=settings, release_frame=True)
    assert list(given.columns) == [] and len(p.frame.columns) > 20
    pd.testing.assert_frame_equal(released.scores, kept.scores)
    pd.testing.assert_frame_equal(released.shap.values, kept.shap.values, check_exact=True)
    pd.testing.assert_frame_equal(released.fairness.proxies, kept.fairness.proxies)
    assert released.excluded_columns == kept.excluded_columns
    assert released.guardrail_columns == kept.guardrail_columns
    assert released.rows_source is None and kept.rows_source is not None
