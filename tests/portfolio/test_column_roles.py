"""Column roles: synonyms in English and German, personal data, protected attributes, outcomes, mapping."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.errors import PortfolioError
from portfolio.roles import ColumnRoles, Role, detect_roles

N = 40


def frame(**columns) -> pd.DataFrame:
    base = {"account_id": [f"A{i}" for i in range(N)], "balance": np.linspace(10, 500, N),
            "days_past_due": np.arange(N) % 60}
    base.update(columns)
    return pd.DataFrame(base)


@pytest.mark.parametrize("name,role", [
    ("Kontonummer", Role.ACCOUNT_ID), ("Aktenzeichen", Role.ACCOUNT_ID), ("Vertragsnummer", Role.ACCOUNT_ID),
    ("Fall-ID", Role.ACCOUNT_ID), ("Account Number", Role.ACCOUNT_ID), ("case_id", Role.ACCOUNT_ID),
    ("Offener Betrag", Role.BALANCE), ("Forderungsbetrag", Role.BALANCE), ("SALDO", Role.BALANCE),
    ("Restforderung", Role.BALANCE), ("open amount", Role.BALANCE), ("Outstanding (EUR)", Role.BALANCE),
    ("Tage überfällig", Role.DAYS_PAST_DUE), ("Verzugstage", Role.DAYS_PAST_DUE), ("DPD", Role.DAYS_PAST_DUE),
    ("Überfälligkeit in Tagen", Role.DAYS_PAST_DUE), ("daysPastDue", Role.DAYS_PAST_DUE),
])
def test_required_columns_are_found_by_english_and_german_synonyms(name, role):
    data = pd.DataFrame({name: ["1", "2"], "other": [1, 2]})

    roles = detect_roles(data)

    assert roles.renamed == {name: role}
    assert roles.roles[role] == role


def test_reason_names_the_synonym_and_its_language():
    roles = detect_roles(pd.DataFrame({"Verzugstage": [1, 2]}))

    assert roles.reasons["days_past_due"] == "matched German synonym 'verzugstage' for days_past_due"


def test_a_second_identifier_is_excluded_with_a_reason():
    roles = detect_roles(frame(Kundennummer=[f"K{i}" for i in range(N)]))

    assert roles.roles["Kundennummer"] == Role.EXCLUDED
    assert "second identifier" in roles.reasons["Kundennummer"]


@pytest.mark.parametrize("name", ["Vorname", "Nachname", "E-Mail", "Telefon", "Mobil", "IBAN", "Straße",
                                  "Adresse", "Geburtsdatum", "date of birth", "email", "phone", "Kunden-E-Mail"])
def test_personal_data_is_detected_by_name(name):
    roles = detect_roles(frame(**{name: ["x"] * N}))

    assert roles.roles[name] == Role.PII
    assert "personal data" in roles.reasons[name]


def test_channel_metrics_named_after_a_contact_channel_are_features_not_pii():
    roles = detect_roles(frame(**{"Kontaktversuche Telefon": np.arange(N) % 4, "email_response_rate": np.linspace(0, 1, N)}))

    assert roles.roles["Kontaktversuche Telefon"] == Role.FEATURE
    assert roles.roles["email_response_rate"] == Role.FEATURE


@pytest.mark.parametrize("values,words", [
    ([f"person{i}@example.de" for i in range(N)], "e-mail addresses"),
    (["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32"] * (N // 2), "IBANs"),
    ([f"+49 171 {1000000 + i}" for i in range(N)], "phone numbers"),
    ([f"{1 + i % 28:02d}.0{1 + i % 9}.{1940 + i}" for i in range(N)], "dates of birth"),
])
def test_personal_data_is_detected_by_content_with_a_count(values, words):
    roles = detect_roles(frame(kontakt=values))

    assert roles.roles["kontakt"] == Role.PII
    assert words in roles.reasons["kontakt"]
    assert f"of {N} sampled" in roles.reasons["kontakt"]


def test_iban_with_a_wrong_checksum_is_not_taken_for_an_iban():
    roles = detect_roles(frame(code=["DE00370400440532013000", "DE12345678901234567890"] * (N // 2)))

    assert "IBAN" not in roles.reasons["code"]


def test_recent_contract_dates_are_not_birth_dates():
    roles = detect_roles(frame(vertragsbeginn=[f"2024-0{1 + i % 9}-1{i % 10}" for i in range(N)]))

    assert roles.roles["vertragsbeginn"] == Role.EXCLUDED
    assert "dates" in roles.reasons["vertragsbeginn"]


@pytest.mark.parametrize("name", ["age", "Gender", "sex", "nationality", "religion", "marital_status", "disability",
                                  "ethnicity", "race", "Alter", "Geschlecht", "Staatsangehörigkeit", "Nationalität",
                                  "Konfession", "Familienstand", "Behinderung", "Herkunft"])
def test_protected_attributes_are_sensitive_never_features(name):
    roles = detect_roles(frame(**{name: ["a", "b"] * (N // 2)}))

    assert roles.roles[name] == Role.SENSITIVE
    assert name not in roles.features


def test_account_age_is_a_feature_not_a_protected_age():
    roles = detect_roles(frame(account_age_days=np.arange(N)))

    assert roles.roles["account_age_days"] == Role.FEATURE


@pytest.mark.parametrize("name", ["paid_90d", "amount_recovered_90d", "paid_in_full", "was_paid", "recovery_rate",
                                  "outcome", "cured", "bezahlt_90_tage", "Zahlungseingang", "default_flag"])
def test_outcomes_are_targets(name):
    roles = detect_roles(frame(**{name: [0, 1] * (N // 2)}))

    assert roles.roles[name] == Role.TARGET
    assert name in roles.targets


@pytest.mark.parametrize("name", ["true_persona", "truth", "ground_truth", "planted_segment"])
def test_planted_labels_are_truth_for_evaluation_only(name):
    roles = detect_roles(frame(**{name: ["x", "y"] * (N // 2)}))

    assert roles.roles[name] == Role.TRUTH
    assert roles.truth == [name]


def test_constant_empty_and_id_like_columns_are_excluded_with_reasons():
    roles = detect_roles(frame(mandant=["M1"] * N, leer=[None] * N, notiz=[f"Notiz {i}" for i in range(N)]))

    assert roles.excluded == ["mandant", "leer", "notiz"]
    assert roles.reasons["mandant"].startswith("constant")
    assert roles.reasons["leer"] == "all values are empty"
    assert "id-like" in roles.reasons["notiz"]


def test_postcode_is_excluded_as_a_possible_proxy_and_region_is_a_flagged_feature():
    roles = detect_roles(frame(PLZ=[f"{10000 + i}" for i in range(N)], Bundesland=["BY", "BE"] * (N // 2)))

    assert roles.roles["PLZ"] == Role.EXCLUDED
    assert "proxy" in roles.reasons["PLZ"]
    assert roles.roles["Bundesland"] == Role.FEATURE
    assert roles.proxies == ["PLZ", "Bundesland"]


def test_other_numeric_and_categorical_columns_are_features():
    roles = detect_roles(frame(contacts=np.arange(N) % 5, sector=["energy", "telco"] * (N // 2)))

    assert roles.features == ["contacts", "sector"]
    assert roles.reasons["sector"] == "categorical with 2 levels: used as a feature"


def test_mapping_overrides_detection_and_renames_to_canonical_names():
    data = pd.DataFrame({"Akte": ["1", "2"], "Betrag X": [1.0, 2.0], "Tage": [1, 2], "Region": ["N", "S"],
                         "Score": ["a", "b"]})
    mapping = {"Akte": "account_id", "Betrag X": "balance", "Tage": "days_past_due", "Region": "excluded",
               "Score": "feature"}

    roles = detect_roles(data, mapping)

    assert roles.renamed == {"Akte": "account_id", "Betrag X": "balance", "Tage": "days_past_due"}
    assert roles.roles["Region"] == Role.EXCLUDED
    assert "mapping" in roles.reasons["Region"]


def test_mapping_can_be_a_json_file(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"Akte": "account_id"}), encoding="utf-8")

    roles = detect_roles(pd.DataFrame({"Akte": ["1"], "Kontonummer": ["9"]}), path)

    assert roles.renamed["Akte"] == "account_id"
    assert roles.roles["Kontonummer"] == Role.EXCLUDED


def test_mapping_with_unknown_columns_and_roles_lists_them_all():
    with pytest.raises(PortfolioError) as caught:
        detect_roles(pd.DataFrame({"Akte": ["1"]}), {"Fehlt": "balance", "Akte": "kontonummer"})

    assert "'Fehlt'" in str(caught.value)
    assert "'Akte': 'kontonummer'" in str(caught.value)
    assert len(caught.value.lines) == 2


def test_mapping_file_that_is_not_json_is_a_clear_error(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text("{Akte: account_id", encoding="utf-8")

    with pytest.raises(PortfolioError, match="not valid JSON"):
        detect_roles(pd.DataFrame({"Akte": ["1"]}), path)


def test_every_column_has_a_role_and_a_reason_and_roles_round_trip_through_a_dict():
    roles = detect_roles(frame(sector=["a", "b"] * (N // 2), Vorname=["x"] * N))

    assert set(roles.roles) == set(roles.reasons)
    assert all(roles.reasons.values())
    assert ColumnRoles.from_dict(json.loads(json.dumps(roles.to_dict()))) == roles
