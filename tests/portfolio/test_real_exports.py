"""Exports written the way other systems write them: protected attributes, person names and outcomes
never reach the persona features or the risk model, whatever the columns are called.

Files are written as the ERP or the data source writes them (German CSV with ``;`` and decimal commas,
J/N flags, renamed columns of names, 1/2-coded outcomes) and read through the normal reader; one real
file (the UCI credit-card default data) is read as published.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explain.features import model_features
from personas.features import feature_columns
from portfolio.meanings import Meaning
from portfolio.read import read_table
from portfolio.roles import Role, detect_roles
from portfolio.vocabulary import Outcome, Protected

UCI = Path("/work/shared/data/uci_taiwan_credit_card_default.csv")
N = 120
FIRST = ["Anna", "Thomas", "Jürgen", "Fatma", "Piotr", "Sabine", "Lukas", "Chloé", "Mehmet", "Ursula"]
LAST = ["Braun", "Müller", "Yilmaz", "Schmidt", "Nowak", "Weber", "Krüger", "Öztürk"]


def iban(account: int) -> str:
    """A German IBAN with a valid check number (ISO 13616)."""
    bban = f"37040044{account:010d}"
    digits = "".join(str(int(c, 36)) for c in bban + "DE00")
    return f"DE{98 - int(digits) % 97:02d}{bban}"


def german_export(rng: np.random.Generator) -> str:
    rows = ["Aktenzeichen;Offener Betrag;Verzugstage;Info1;Info2;Kontakt;Bankverbindung;Familienstand;"
            "Staatsangehörigkeit;Konfession;Kundenalter;Anrede;Überschuldet;Bestritten;"
            "Gebrochene Zahlungszusagen;Teilzahlungsquote;Anzahl bisheriger Zahlungen;Zahlungsausfall"]
    for i in range(N):
        rows.append(";".join([
            f"AZ-{i:05d}", f"{rng.uniform(20, 5000):.2f}".replace(".", ","), str(rng.integers(0, 400)),
            FIRST[i % len(FIRST)], LAST[i % len(LAST)], f"kunde{i}@beispiel.de", iban(1000 + i),
            ["ledig", "verheiratet", "geschieden", "verwitwet"][i % 4], ["deutsch", "türkisch", "polnisch"][i % 3],
            ["ev.", "rk.", "ohne"][i % 3], str(rng.integers(18, 90)), ["Herr", "Frau"][i % 2],
            "J" if rng.random() < 0.3 else "N", "J" if rng.random() < 0.2 else "N", str(rng.poisson(1)),
            f"{rng.uniform(0, 1):.2f}".replace(".", ","), str(rng.poisson(3)), str(1 + (rng.random() < 0.3)),
        ]))
    return "\n".join(rows) + "\n"


def english_export(rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "Loan ID": [f"L{i}" for i in range(N)], "Outstanding Amount": rng.uniform(50, 9000, N).round(2),
        "Days Overdue": rng.integers(0, 300, N), "customerAge": rng.integers(18, 90, N),
        "MaritalStatus": rng.choice(["single", "married", "divorced"], N),
        "foreign_worker": rng.choice(["A201", "A202"], N), "gender": rng.choice(["f", "m"], N),
        "Citizenship": rng.choice(["DE", "TR", "PL"], N), "religion": rng.choice(["a", "b", "c"], N),
        "disability_status": rng.choice(["yes", "no"], N), "pregnant": rng.choice(["Y", "N"], N),
        "Field_A": [f"{FIRST[i % 10]} {LAST[i % 8]}" for i in range(N)], "Ref2": [f"+49 171 {2000000 + i}" for i in range(N)],
        "credit_risk": rng.choice([1, 2], N), "SeriousDlqin2yrs": rng.choice([0, 1], N),
        "bad": rng.choice(["good", "bad"], N), "disputed": rng.choice(["yes", "no"], N),
        "HardshipFlag": rng.choice(["true", "false"], N), "months_on_book": rng.integers(1, 120, N),
    })


def _features_of(data: pd.DataFrame, roles, target: str | None = None) -> tuple[set[str], set[str]]:
    renamed = data.rename(columns=roles.renamed)
    return set(feature_columns(renamed, roles)), set(model_features(renamed, roles, target))


@pytest.fixture(scope="module")
def german(tmp_path_factory):
    path = tmp_path_factory.mktemp("exports") / "inkasso_export.csv"
    path.write_text(german_export(np.random.default_rng(1)), encoding="cp1252")
    data = read_table(path).frame
    return data, detect_roles(data)


def test_the_german_export_keeps_every_protected_attribute_out(german):
    data, roles = german
    protected = {"Familienstand": Protected.MARITAL_STATUS, "Staatsangehörigkeit": Protected.NATIONALITY,
                 "Konfession": Protected.RELIGION, "Kundenalter": Protected.AGE, "Anrede": Protected.SEX}

    assert {c: roles.roles[c] for c in protected} == {c: Role.SENSITIVE for c in protected}
    assert {c: roles.meanings[c] for c in protected} == protected
    persona, model = _features_of(data, roles)
    assert not (persona | model) & set(protected)


def test_the_german_export_keeps_person_data_out_whatever_the_columns_are_called(german):
    data, roles = german

    assert [roles.roles[c] for c in ("Info1", "Info2", "Kontakt", "Bankverbindung")] == [Role.PII] * 4
    persona, model = _features_of(data, roles)
    assert not (persona | model) & {"Info1", "Info2", "Kontakt", "Bankverbindung"}


def test_the_german_export_reads_flags_and_collections_meanings(german):
    data, roles = german

    assert data["Überschuldet"].dtype == bool and data["Bestritten"].dtype == bool
    assert roles.column_for(Meaning.OVER_INDEBTED) == "Überschuldet"
    assert roles.column_for(Meaning.DISPUTE) == "Bestritten"
    assert roles.column_for(Meaning.BROKEN_PROMISES) == "Gebrochene Zahlungszusagen"
    assert roles.column_for(Meaning.PARTIAL_PAYMENT_RATIO) == "Teilzahlungsquote"
    assert roles.column_for(Meaning.PAYMENTS_SO_FAR) == "Anzahl bisheriger Zahlungen"


def test_a_one_two_coded_outcome_is_an_outcome_never_a_feature(german):
    data, roles = german

    assert roles.roles["Zahlungsausfall"] == Role.TARGET
    assert roles.meanings["Zahlungsausfall"] == Outcome.NOT_PAID
    persona, model = _features_of(data, roles)
    assert "Zahlungsausfall" not in persona | model


def test_an_english_export_with_unfamiliar_names_keeps_protected_pii_and_outcomes_out():
    data = english_export(np.random.default_rng(2))

    roles = detect_roles(data)

    sensitive = ["customerAge", "MaritalStatus", "foreign_worker", "gender", "Citizenship", "religion",
                 "disability_status", "pregnant"]
    outcomes = ["credit_risk", "SeriousDlqin2yrs", "bad"]
    assert [roles.roles[c] for c in sensitive] == [Role.SENSITIVE] * len(sensitive)
    assert [roles.roles[c] for c in outcomes] == [Role.TARGET] * len(outcomes)
    assert roles.roles["Field_A"] == Role.PII and roles.roles["Ref2"] == Role.PII
    assert roles.meanings["disputed"] == Meaning.DISPUTE and roles.meanings["HardshipFlag"] == Meaning.OVER_INDEBTED
    persona, model = _features_of(data, roles, target="SeriousDlqin2yrs")
    assert not (persona | model) & set(sensitive + outcomes + ["Field_A", "Ref2"])
    assert {"months_on_book", "disputed"} <= persona


@pytest.fixture(scope="module")
def uci(tmp_path_factory):
    if not UCI.exists():
        pytest.skip(f"{UCI} is not available")
    lines = UCI.read_text(encoding="utf-8").splitlines()[:401]
    path = tmp_path_factory.mktemp("uci") / "uci_head.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_table(path).frame


def test_the_uci_credit_card_data_keeps_sex_age_marriage_and_the_outcome_out(uci):
    # The file has no balance or days past due as such; README: balance from BILL_AMT1, dpd from PAY_0.
    roles = detect_roles(uci, {"BILL_AMT1": "balance", "PAY_0": "days_past_due"})

    assert {c: roles.roles[c] for c in ("SEX", "AGE", "MARRIAGE")} == dict.fromkeys(("SEX", "AGE", "MARRIAGE"),
                                                                                   Role.SENSITIVE)
    assert roles.meanings["MARRIAGE"] == Protected.MARITAL_STATUS
    assert roles.roles["default.payment.next.month"] == Role.TARGET
    assert roles.meanings["default.payment.next.month"] == Outcome.NOT_PAID
    persona, model = _features_of(uci, roles, target="default.payment.next.month")
    kept_out = {"SEX", "AGE", "MARRIAGE", "default.payment.next.month", "ID", "account_id"}
    assert not (persona | model) & kept_out
    assert {"balance", "days_past_due", "LIMIT_BAL", "PAY_AMT1"} <= model
