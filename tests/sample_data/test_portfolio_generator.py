"""The sample portfolio generator: reproducible, plausible, with planted personas and a learnable outcome."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from threadpoolctl import threadpool_limits

from sample_data.generator import (
    CHANNELS, GERMAN_COLUMNS, PERSONA_SHARES, PERSONAS, generate_portfolio, iban_is_valid,
)

PII = ["first_name", "last_name", "email", "phone", "iban", "street", "postcode", "city"]
SENSITIVE = ["age", "gender"]
OUTCOMES = ["paid_90d", "amount_recovered_90d"]


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return generate_portfolio(3_000, seed=42)


def test_the_same_seed_gives_an_identical_frame(book):
    pd.testing.assert_frame_equal(book, generate_portfolio(3_000, seed=42))


def test_a_different_seed_gives_different_accounts(book):
    other = generate_portfolio(3_000, seed=43)
    assert not other["balance"].equals(book["balance"])
    assert not other["iban"].equals(book["iban"])


def test_columns_and_dtypes(book):
    behaviour_counts = ["days_past_due", "months_on_book", "prior_payments", "broken_promises", "portal_logins",
                        *[f"{c}_{kind}" for c in CHANNELS for kind in ("attempts", "responses")]]
    flags = ["email_opt_out", "sms_opt_out", "dispute_flag", "over_indebted_flag", "time_barred", "paid_90d"]
    for column in behaviour_counts + flags + ["age"]:
        assert book[column].dtype == np.int64, column
    for column in ["balance", "original_amount", "partial_payment_ratio", "amount_recovered_90d"]:
        assert book[column].dtype == np.float64, column
    for column in ["account_id", "sector", "product", "payment_method", "region", "gender", "true_persona", *PII]:
        assert pd.api.types.is_string_dtype(book[column]), column
    assert str(book["best_response_hour"].dtype) == "Int64"
    assert set(GERMAN_COLUMNS) == set(book.columns)


def test_account_ids_are_unique_and_formatted(book):
    assert book["account_id"].is_unique
    assert book["account_id"].str.fullmatch(r"AKT-\d{7}").all()


def test_amounts_and_ratios_stay_in_range(book):
    assert (book["balance"] > 0).all()
    assert (book["original_amount"] >= book["balance"]).all()
    assert (book["amount_recovered_90d"] >= 0).all()
    assert (book["amount_recovered_90d"] <= book["balance"]).all()
    paid = book["paid_90d"] == 1
    assert np.allclose(book.loc[paid, "amount_recovered_90d"], book.loc[paid, "balance"])
    assert book["partial_payment_ratio"].between(0, 1).all()
    assert book["days_past_due"].ge(1).all() and book["age"].between(18, 90).all()
    assert book["best_response_hour"].dropna().between(0, 23).all()
    assert set(book["gender"]) <= {"f", "m", "d"}
    for flag in ["email_opt_out", "sms_opt_out", "dispute_flag", "over_indebted_flag", "time_barred", "paid_90d"]:
        assert set(book[flag]) <= {0, 1}, flag


def test_balances_are_heavy_tailed(book):
    assert book["balance"].quantile(0.99) > 10 * book["balance"].median()


def test_responses_never_exceed_attempts_and_opted_out_channels_are_not_used(book):
    for channel in CHANNELS:
        assert (book[f"{channel}_responses"] <= book[f"{channel}_attempts"]).all(), channel
    assert (book.loc[book["email_opt_out"] == 1, "email_attempts"] == 0).all()
    assert (book.loc[book["sms_opt_out"] == 1, "sms_attempts"] == 0).all()


def test_ibans_have_valid_checksums(book):
    assert book["iban"].str.fullmatch(r"DE\d{20}").all()
    assert all(iban_is_valid(iban) for iban in book["iban"])
    assert not iban_is_valid("DE00" + book["iban"].iloc[0][4:])


def test_contact_details_look_german(book):
    assert book["phone"].str.fullmatch(r"\+49 1\d{2} \d{7,8}").all()
    assert book["email"].str.fullmatch(r"[a-z]+\.[a-z]+\d*@([a-z]+\.)?example\.(com|org|net|de)").all()
    assert book["postcode"].str.fullmatch(r"\d{5}").all()
    assert book["region"].nunique() == 16


def test_persona_shares_are_roughly_as_planted():
    shares = generate_portfolio(20_000, seed=1)["true_persona"].value_counts(normalize=True)
    assert set(shares.index) == set(PERSONAS)
    for persona, planted in zip(PERSONAS, PERSONA_SHARES):
        assert shares[persona] == pytest.approx(planted, abs=0.015), persona


def test_behaviour_differs_by_persona(book):
    medians = book.groupby("true_persona")[["balance", "days_past_due", "portal_logins"]].median()
    assert medians.loc["digital_small_balance", "balance"] < medians.loc["forgetful_payer", "balance"]
    assert medians.loc["over_indebted", "balance"] > medians.loc["temporarily_strained", "balance"]
    assert medians.loc["digital_small_balance", "portal_logins"] == medians["portal_logins"].max()
    assert medians.loc["over_indebted", "days_past_due"] > 3 * medians.loc["forgetful_payer", "days_past_due"]
    assert (book.loc[book["true_persona"] == "first_payment_default", "prior_payments"] == 0).all()
    assert book.groupby("true_persona")["dispute_flag"].mean().idxmax() == "disputing"


def test_region_is_independent_of_persona_but_sector_is_not():
    frame = generate_portfolio(20_000, seed=5)
    region_p = chi2_contingency(pd.crosstab(frame["region"], frame["true_persona"])).pvalue
    sector_p = chi2_contingency(pd.crosstab(frame["sector"], frame["true_persona"])).pvalue
    assert region_p > 0.01
    assert sector_p < 1e-12


def test_the_outcome_is_predictable_from_behaviour(book):
    features = book.drop(columns=["account_id", *PII, *SENSITIVE, *OUTCOMES, "true_persona"])
    features = features.astype({c: "category" for c in features.columns if features[c].dtype == "str"})
    features["best_response_hour"] = features["best_response_hour"].astype(float)
    model = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, categorical_features="from_dtype")
    with threadpool_limits(1):  # OpenMP on a shared, busy machine is slower than one thread
        auc = cross_val_score(model, features, book["paid_90d"], scoring="roc_auc",
                              cv=StratifiedKFold(3, shuffle=True, random_state=0)).mean()
    assert auc >= 0.80
    assert 0.3 < book["paid_90d"].mean() < 0.7


def test_gender_is_independent_of_the_outcome_unless_a_disparity_is_planted():
    fair = generate_portfolio(20_000, seed=8)
    rates = fair[fair["gender"] != "d"].groupby("gender")["paid_90d"].mean()
    assert abs(rates["f"] - rates["m"]) < 0.03
    planted = generate_portfolio(20_000, seed=8, plant_disparity=True)
    rates = planted[planted["gender"] != "d"].groupby("gender")["paid_90d"].mean()
    assert rates["m"] / rates["f"] < 0.8
    assert planted.groupby("gender")["days_past_due"].median()["m"] > fair.groupby("gender")["days_past_due"].median()["m"]


def test_german_language_renames_columns_and_keeps_the_data(book):
    german = generate_portfolio(3_000, seed=42, language="de")
    assert list(german.columns) == [GERMAN_COLUMNS[c] for c in book.columns]
    for name in ["Aktenzeichen", "Offener Betrag", "Verzugstage", "Ursprungsbetrag", "Vorname", "Nachname",
                 "E-Mail", "Telefon", "IBAN", "Straße", "Alter", "Geschlecht", "Bundesland", "Zahlungsart",
                 "bezahlt_90_tage"]:
        assert name in german.columns, name
    pd.testing.assert_frame_equal(german.set_axis(list(book.columns), axis=1), book)


@pytest.mark.parametrize("rows", [0, -5, 2.5])
def test_a_non_positive_or_fractional_row_count_is_refused(rows):
    with pytest.raises(ValueError, match="rows"):
        generate_portfolio(rows)


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        generate_portfolio(10, language="fr")


def test_a_single_row_works():
    assert len(generate_portfolio(1, seed=0)) == 1
