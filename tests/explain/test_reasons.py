"""Plain-language reasons: real features, the direction of their SHAP value, English and German."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explain.reasons import feature_label, format_number, top_reasons


def _label_to_feature(features, language="en"):
    return {feature_label(f, language): f for f in features}


def test_reasons_name_the_top_three_features_with_the_direction_of_their_shap_value(risk_5k):
    shap = risk_5k.shap
    by_label = _label_to_feature(risk_5k.features)
    sample = risk_5k.scores.sample(200, random_state=0)
    for account, text in zip(sample["account_id"], sample["reasons"]):
        row = shap.values.loc[account]
        parts = text.split("; ")
        assert len(parts) == 3
        expected = row.abs().sort_values(ascending=False, kind="stable").index[:3].tolist()
        named = []
        for part in parts:
            head, direction = part.split(" → ")
            label = next(lab for lab in sorted(by_label, key=len, reverse=True) if head.startswith(lab + " "))
            feature = by_label[label]
            named.append(feature)
            assert direction == ("raises risk" if row[feature] > 0 else "lowers risk")
        assert named == expected


def test_days_past_due_reason_reads_like_a_sentence():
    shap_values = pd.DataFrame({"days_past_due": [0.9], "broken_promises": [-0.4], "balance": [0.1],
                                "region": [0.05]})
    values = pd.DataFrame({"days_past_due": [182.0], "broken_promises": [0.0], "balance": [1234.5],
                           "region": ["Bayern"]})
    assert top_reasons(shap_values, values, currency="EUR")[0] == (
        "Days past due 182 → raises risk; Broken promises 0 → lowers risk; Balance €1,235 → raises risk")
    assert top_reasons(shap_values, values, language="de", currency="EUR")[0] == (
        "Verzugstage 182 → erhöht das Risiko; Gebrochene Zahlungszusagen 0 → senkt das Risiko; "
        "Offener Betrag 1.235 € → erhöht das Risiko")


def test_a_zero_contribution_is_never_a_reason():
    shap_values = pd.DataFrame({"a_feature": [0.3], "other": [0.0]})
    values = pd.DataFrame({"a_feature": [1.0], "other": [np.nan]})
    assert top_reasons(shap_values, values)[0] == "A feature 1 → raises risk"


def test_german_run_gives_german_reasons(risk_5k):
    from explain.risk import RiskSettings, fit_risk_model
    from tests.explain.conftest import portfolio_of

    p = portfolio_of(600, seed=4)
    german = fit_risk_model(p.frame, p.roles, target="paid_90d",
                            settings=RiskSettings(language="de", bootstrap_resamples=5))
    assert german.scores["reasons"].str.contains("das Risiko").all()
    assert not german.scores["reasons"].str.contains("risk$|raises|lowers").any()


@pytest.mark.parametrize("column, expected", [
    ("days_past_due", "Days past due"), ("myCustomScore", "My Custom Score"), ("n_calls_30d", "N calls 30d"),
    ("Gebrochene Zahlungszusagen", "Broken promises"),
])
def test_feature_labels_are_readable(column, expected):
    assert feature_label(column) == expected


@pytest.mark.parametrize("value, language, money, expected", [
    (182, "en", False, "182"), (0.35, "en", False, "0.35"), (12.345, "de", False, "12,3"),
    (1234.5, "de", True, "1.235 €"), (float("nan"), "de", False, "fehlt"), (1234567.0, "en", False, "1,234,567"),
])
def test_numbers_are_formatted_for_people(value, language, money, expected):
    assert format_number(value, language, money, currency="EUR" if money else None) == expected


def test_amounts_in_reasons_carry_the_runs_currency_and_never_a_made_up_euro():
    shap_values = pd.DataFrame({"balance": [0.5]})
    values = pd.DataFrame({"balance": [1234.5]})
    assert top_reasons(shap_values, values, currency="USD")[0] == "Balance $1,235 → raises risk"
    assert top_reasons(shap_values, values, currency="CHF")[0] == "Balance 1,235 CHF → raises risk"
    unknown = top_reasons(shap_values, values)[0]
    assert unknown == "Balance 1,235 → raises risk" and "€" not in unknown


def test_a_risk_model_of_a_usd_portfolio_writes_dollars():
    from explain.risk import RiskSettings, fit_risk_model
    from tests.explain.conftest import portfolio_of

    p = portfolio_of(600, seed=4)
    usd = fit_risk_model(p.frame, p.roles, target="paid_90d",
                         settings=RiskSettings(bootstrap_resamples=5, currency="USD"))
    reasons = " ".join(usd.scores["reasons"])
    assert "€" not in reasons
    if "Balance " in reasons:
        assert "Balance $" in reasons


def test_flags_read_as_yes_or_no():
    shap_values = pd.DataFrame({"dispute_flag": [0.8], "Überschuldung": [-0.2]})
    values = pd.DataFrame({"dispute_flag": [1], "Überschuldung": [0]})
    assert top_reasons(shap_values, values)[0] == "Disputed yes → raises risk; Over-indebted no → lowers risk"
    assert top_reasons(shap_values, values, language="de")[0] == (
        "Forderung bestritten ja → erhöht das Risiko; Überschuldung nein → senkt das Risiko")


def test_rows_with_three_two_one_and_no_reasons_are_joined_in_one_call():
    """Reasons are written once per shown value and joined per row (explain.reasons.reason_array)."""
    shap_values = pd.DataFrame({"balance": [0.5, 0.0, 0.0, 0.0, -0.2],
                                "days_past_due": [0.4, -0.3, 0.0, 0.0, 0.0],
                                "region": [-0.1, 0.2, 0.7, 0.0, 0.0]})
    values = pd.DataFrame({"balance": [1234.5, 10.0, 0.0, 5.0, 1234.6],
                           "days_past_due": [30.0, 30.0, 1.0, 2.0, 3.0],
                           "region": ["Bayern", "Bayern", "Bayern", "Berlin", "Berlin"]})
    assert top_reasons(shap_values, values, currency="EUR") == [
        "Balance €1,235 → raises risk; Days past due 30 → raises risk; Region Bayern → lowers risk",
        "Days past due 30 → lowers risk; Region Bayern → raises risk",
        "Region Bayern → raises risk",
        "",
        "Balance €1,235 → lowers risk",
    ]
