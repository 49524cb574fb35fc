"""What the Explanations page shows, without streamlit: labels, captions and tables in the reader's language,
the account's explanation to download and the model card (``application/explanations_page.py``).

One small seeded risk model (600 accounts, made in English) serves the tests that need a run's figures;
German texts come from the compiled catalogue (``python -m core.i18n compile``).
"""
from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pandas as pd
import pytest

from application import explanations_page as page
from core.i18n import use_language
from explain.risk import RiskSettings, fit_risk_model
from personas.settings import RunSettings
from portfolio.load import load_portfolio
from sample_data.generator import generate_portfolio


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(generate_portfolio(600, seed=3))


@pytest.fixture(scope="module")
def risk(portfolio):
    """A risk model made in English (its stored reasons and card are English)."""
    return fit_risk_model(portfolio.frame, portfolio.roles, target="paid_90d",
                          settings=RiskSettings(bootstrap_resamples=10))


def _run(risk, **meta):
    """A run as the page sees it: its risk model and its run.json."""
    return SimpleNamespace(risk=risk, meta={"created_at": "2026-03-01T09:30:00Z", **meta})


# ---------------------------------------------------------------- tables
def test_a_known_column_gets_its_label_in_the_current_language():
    assert page.column_label("adverse_impact_ratio", "en") == "Adverse impact ratio"
    with use_language("de"):
        assert page.column_label("metric", "de") == "Kennzahl"


def test_an_unlisted_feature_column_is_labelled_as_a_feature_and_other_keys_stay_as_they_are():
    assert page.column_label("days_past_due", "de") == "Verzugstage"
    assert page.column_label("days_past_due", "en") == "Days past due"
    assert page.column_label("ci_low", "en") == "Ci low"
    assert page.column_label("label", "en") == "label"


def test_shares_are_percentages_ratios_have_three_decimals_and_counts_keep_their_format():
    kinds = page.number_kinds(["decile", "accounts", "not_paid_rate", "lift", "mean risk score (P NOT paid)"])
    assert kinds == {"not_paid_rate": ("percent", 1), "lift": ("decimal", 3),
                     "mean risk score (P NOT paid)": ("percent", 1)}


def test_features_are_relabelled_in_the_readers_language_and_other_tables_are_left_alone():
    table = pd.DataFrame({"feature": ["days_past_due", "broken_promises"], "label": ["Days past due", "x"]})
    assert page.relabelled(table, "de")["label"].tolist() == ["Verzugstage", "Gebrochene Zahlungszusagen"]
    assert table["label"].tolist() == ["Days past due", "x"], "the run's table is not changed"
    other = pd.DataFrame({"decile": [1]})
    assert page.relabelled(other, "de") is other
    assert page.relabelled(None, "de") is None


def test_the_measures_are_named_in_the_readers_language(risk):
    with use_language("de"):
        metrics = page.metric_table(risk)
    assert metrics["metric"].iloc[0] == "ROC-AUC"
    assert metrics["value"].tolist() == risk.metric_table()["value"].tolist()
    assert page.metric_table(risk)["metric"].tolist()[:2] == ["ROC AUC", "PR AUC (event = NOT paid)"]


def test_the_interval_headers_carry_the_confidence_level_in_the_readers_number_format():
    assert page.interval_labels(0.95, "en") == {"value": "Value", "ci_low": "95% interval, low",
                                                "ci_high": "95% interval, high"}
    with use_language("de"):
        assert page.interval_labels(0.9, "de")["ci_low"] == "90 %-Intervall, untere Grenze"


# ---------------------------------------------------------------- captions
def test_the_performance_caption_gives_folds_accounts_resamples_and_the_calibration_decision(risk):
    caption = page.performance_caption(risk, "en")
    assert caption.startswith("5-fold stratified cross-validation on 600 accounts (NOT-paid rate ")
    assert "intervals from 10 bootstrap resamples. Calibration: " in caption
    assert caption.endswith(str(risk.calibration["reason"]) + ".")


def test_the_shap_caption_says_when_the_values_are_a_seeded_sample():
    meta = {"accounts_explained": 20000, "accounts_total": 150000, "base_value": -0.0523, "sampled": True,
            "sample_seed": 42}
    assert page.shap_caption(meta, "en") == ("SHAP values for 20,000 of 150,000 accounts (seeded sample, seed 42); "
                                             "base value -0.052 log-odds.")
    whole = dict(meta, accounts_explained=600, accounts_total=600, sampled=False)
    assert page.shap_caption(whole, "en") == "SHAP values for 600 of 600 accounts; base value -0.052 log-odds."


def test_the_fairness_caption_names_the_runs_cut_off_rule(risk):
    caption = page.fairness_caption(risk)
    assert caption.startswith(f"Flagged high-risk = {risk.fairness.cutoff_rule}. Adverse impact ratio")
    with use_language("de"):
        assert page.fairness_caption(risk).startswith("Als hohes Risiko markiert = riskanteste 30 % der Konten")


def test_the_proxy_caption_writes_the_threshold_in_the_readers_number_format():
    assert page.proxy_caption(0.65, "en").endswith("(0.5 = not at all; flagged at 0.65).")
    with use_language("de"):
        assert "0,65" in page.proxy_caption(0.65, "de")


# ---------------------------------------------------------------- personas
def test_personas_are_named_from_their_profiles_and_by_number_without_one():
    profiles = [{"persona_id": 0, "name": "Early payers"},
                {"persona_id": 1, "names": {"en": "Broken promises", "de": "Gebrochene Zusagen"}}]
    with use_language("de"):
        names = page.persona_names(profiles)
    assert names == {0: "Early payers", 1: "Gebrochene Zusagen"}
    assert page.persona_names(None) == {}
    assert page.persona_name(names, 1) == "Gebrochene Zusagen"
    assert page.persona_name(names, 7) == "Persona 7"


def test_the_persona_overview_lists_id_name_and_mean_risk_in_the_models_order():
    overview = page.persona_overview({2: 0.41, 0: 0.12}, {0: "Early payers"})
    assert overview.columns.tolist() == ["persona_id", "persona", "mean risk score (P NOT paid)"]
    assert overview.values.tolist() == [[2, "Persona 2", 0.41], [0, "Early payers", 0.12]]


# ---------------------------------------------------------------- one account
def test_an_account_in_the_runs_language_keeps_its_stored_reasons(risk):
    account = risk.scores["account_id"].iloc[0]
    data = risk.waterfall(account)
    table, reasons = page.account_words(risk, account, data, "en")
    assert reasons == data["reasons"]
    assert table["value"].tolist() == data["contributions"]["value"].tolist()


def test_an_account_read_in_another_language_gets_its_reasons_and_values_written_again(risk):
    account = risk.scores["account_id"].iloc[0]
    data = risk.waterfall(account)
    with use_language("de"):
        table, reasons = page.account_words(risk, account, data, "de")
    assert "risk" not in reasons.replace("Risiko", "") and "das Risiko" in reasons, reasons
    assert reasons != data["reasons"]
    labels = dict(zip(table["feature"], table["label"]))
    assert labels["days_past_due"] == "Verzugstage"


def test_the_downloaded_explanation_spells_out_the_scores_direction_and_scale():
    contributions = pd.DataFrame({"feature": ["days_past_due"], "label": ["Days past due"], "value": ["90"],
                                  "contribution": [0.84]})
    data = {"risk_score": 0.91, "reasons": "Days past due 90 → raises risk", "base_value": -0.05,
            "contributions": contributions}
    exported = json.loads(page.explanation_json("AKT-1", data))
    assert exported == {"account_id": "AKT-1", "risk_score": 0.91, "score_direction": "probability of NOT paying",
                        "reasons": "Days past due 90 → raises risk", "shap_scale": "log-odds of NOT paying",
                        "base_value": -0.05,
                        "contributions": [{"label": "Days past due", "value": "90", "contribution": 0.84}]}


# ---------------------------------------------------------------- fairness
def test_the_apps_own_group_words_are_translated_and_the_portfolios_values_kept():
    frame = pd.DataFrame({"group": ["(missing)", "f"], "lowest_group": ["under 18", "60+"],
                          "small_groups": [["(missing)", "d"], "none"], "feature": ["(all features)", "balance"]})
    with use_language("de"):
        shown = page.with_group_labels(frame)
    assert shown["group"].tolist() == ["(fehlt)", "f"]
    assert shown["lowest_group"].tolist() == ["unter 18", "60+"]
    assert shown["small_groups"].tolist() == ["(fehlt), d", "none"]
    assert shown["feature"].tolist() == ["(alle Merkmale)", "balance"]
    assert frame["group"].tolist() == ["(missing)", "f"], "the report's table is not changed"


def test_a_group_missing_from_the_fairness_table_stays_empty_and_never_reads_nan():
    frame = pd.DataFrame({"attribute": ["age", "sex"], "lowest_group": ["60+", float("nan")],
                          "highest_group": [None, "f"]})
    shown = page.with_group_labels(frame)
    assert pd.isna(shown["lowest_group"].iloc[1]) and pd.isna(shown["highest_group"].iloc[0])
    assert shown["lowest_group"].iloc[0] == "60+" and shown["highest_group"].iloc[1] == "f"
    assert "nan" not in [str(v) for v in shown["lowest_group"].dropna()]


def test_the_fairness_summary_leaves_out_the_warnings_and_writes_lists_of_groups_as_text():
    summary = [{"attribute": "age", "small_groups": ["under 18"], "calibration_gap_groups": ["(missing)", "60+"],
                "warnings": ["age: ..."], "warning_codes": [{"code": "parity"}]}]
    with use_language("de"):
        table = page.fairness_summary(summary)
    assert table.columns.tolist() == ["attribute", "small_groups", "calibration_gap_groups"]
    assert table.iloc[0].tolist() == ["age", "unter 18", "(fehlt), 60+"]


def test_an_attributes_groups_are_its_own_rows_only(risk):
    groups = page.attribute_groups(risk.fairness.groups, "age")
    assert set(groups["attribute"]) == {"age"}
    assert groups["group"].tolist() == ["18–29", "30–44", "45–59", "60+"]


# ---------------------------------------------------------------- model card
def test_the_card_stored_in_the_readers_language_is_shown_as_it_is_and_the_portfolio_not_opened(risk):
    stored_risk = dataclasses.replace(risk, saved_card=risk.model_card())
    card, stored = page.card_for_reader(_run(stored_risk), "en", portfolio=lambda: pytest.fail("not needed"))
    assert card is stored and card.startswith("# Model card: risk of NOT paying (paid_90d)")
    assert page.card_file_name(card, stored, "en") == "model_card.md"


def test_a_card_for_a_reader_of_another_language_is_written_again_from_the_runs_figures(risk):
    stored_risk = dataclasses.replace(risk, saved_card=risk.model_card(), data_summary=None)
    asked = []
    with use_language("de"):
        card, stored = page.card_for_reader(_run(stored_risk), "de", portfolio=lambda: asked.append(1))
    assert card.startswith("# Modellkarte: Risiko, NICHT zu bezahlen (paid_90d)")
    assert stored.startswith("# Model card") and card is not stored
    assert asked == [1], "the portfolio is asked once, for the card's Data section"
    assert page.card_file_name(card, stored, "de") == "model_card_de.md"


def test_the_data_summary_is_rebuilt_only_from_the_runs_own_portfolio(portfolio, risk):
    meta = {"source_name": "book.csv", "rows": {"read": 600, "used": 600, "excluded": 0},
            "parameters": {"settings": RunSettings(target="paid_90d").to_dict(), "currency": "EUR"}}
    summary = page.data_summary_of(_run(risk, **meta), portfolio)
    assert summary["source_name"] == "book.csv" and summary["currency"] == "EUR"
    assert summary["rows"] == {"read": 600, "used": 600, "excluded": 0}
    assert page.data_summary_of(_run(risk, **meta), None) is None
    assert page.data_summary_of(_run(risk), portfolio) is None, "a run.json without its parameters"
