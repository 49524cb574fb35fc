"""Column meanings: decided once in portfolio/, with a reason, from names (EN/DE), values or the mapping."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.errors import PortfolioError
from portfolio.flags import flag_summary, flag_values, looks_like_flag
from portfolio.meanings import ColumnMeanings, Meaning, detect_meaning
from portfolio.read import read_table
from portfolio.roles import ColumnRoles, Role, detect_roles
from portfolio.vocabulary import Outcome, Protected

N = 40


def frame(**columns) -> pd.DataFrame:
    base = {"account_id": [f"A{i}" for i in range(N)], "balance": np.linspace(10, 500, N),
            "days_past_due": np.arange(N) % 60}
    base.update(columns)
    return pd.DataFrame(base)


COUNTS = np.arange(N) % 4
FLAGS = np.arange(N) % 2
JN = ["J", "N"] * (N // 2)


@pytest.mark.parametrize("name,values,meaning", [
    ("broken_promises", COUNTS, Meaning.BROKEN_PROMISES),
    ("Gebrochene Zahlungszusagen", COUNTS, Meaning.BROKEN_PROMISES),
    ("promises_broken_count", COUNTS, Meaning.BROKEN_PROMISES),
    ("Teilzahlungsquote", np.linspace(0, 1, N), Meaning.PARTIAL_PAYMENT_RATIO),
    ("partial_payment_ratio", np.linspace(0, 1, N), Meaning.PARTIAL_PAYMENT_RATIO),
    ("Anzahl bisheriger Zahlungen", COUNTS, Meaning.PAYMENTS_SO_FAR),
    ("payments_made", COUNTS, Meaning.PAYMENTS_SO_FAR),
    ("bisher gezahlt", np.linspace(0, 90, N), Meaning.PAYMENTS_SO_FAR),
    ("Kontaktversuche SMS", COUNTS, Meaning.attempts("sms")),
    ("Reaktionen E-Mail", COUNTS, Meaning.responses("email")),
    ("phoneAttempts", COUNTS, Meaning.attempts("phone")),
    ("WhatsAppResponses", COUNTS, Meaning.responses("whatsapp")),
    ("Beste Antwortstunde", np.arange(N) % 24, Meaning.BEST_RESPONSE_HOUR),
    ("Widerspruch E-Mail", JN, Meaning.opt_out("email")),
    ("sms_opt_out", FLAGS, Meaning.opt_out("sms")),
    ("Bestritten", JN, Meaning.DISPUTE),
    ("open_dispute", FLAGS, Meaning.DISPUTE),
    ("Überschuldet", JN, Meaning.OVER_INDEBTED),
    ("hardship_flag", FLAGS, Meaning.OVER_INDEBTED),
    ("Verjährt", JN, Meaning.TIME_BARRED),
    ("Insolvenzverfahren", JN, Meaning.INSOLVENCY),
    ("Kunde aktiv", JN, Meaning.CUSTOMER_ACTIVE),
    ("Vertrag beendet", ["ja", "nein"] * (N // 2), Meaning.CONTRACT_ENDED),
    ("Fälligkeitsdatum", [f"2025-0{1 + i % 9}-15" for i in range(N)], Meaning.DUE_DATE),
    ("Währung", ["EUR", "CHF"] * (N // 2), Meaning.CURRENCY),
    ("Zahlungsart", ["SEPA", "PayPal"] * (N // 2), Meaning.PAYMENT_METHOD),
])
def test_collections_meanings_are_found_by_english_and_german_names(name, values, meaning):
    roles = detect_roles(frame(**{name: values}))

    assert roles.meanings[name] == meaning
    assert roles.column_for(meaning) == name
    assert "synonym" in roles.meaning_reasons[name] or "name words" in roles.meaning_reasons[name]


def test_a_name_whose_values_cannot_hold_the_meaning_gets_none():
    roles = detect_roles(frame(**{"Bestritten am": [f"2024-03-{1 + i % 28:02d}" for i in range(N)]}))

    assert "Bestritten am" not in roles.meanings


def test_a_currency_column_is_recognised_by_its_values():
    roles = detect_roles(frame(Info4=["EUR"] * (N - 2) + ["USD", "CHF"]))

    assert roles.meanings["Info4"] == Meaning.CURRENCY
    assert "currency codes" in roles.meaning_reasons["Info4"]


def test_columns_for_a_prefix_lists_every_channel():
    roles = detect_roles(frame(sms_opt_out=FLAGS, **{"Widerspruch E-Mail": JN, "Kontaktversuche SMS": COUNTS}))

    assert roles.columns_for(Meaning.OPT_OUT) == ["sms_opt_out", "Widerspruch E-Mail"]
    assert roles.column_for(Meaning.DISPUTE) is None


@pytest.mark.parametrize("name,meaning", [
    ("MARRIAGE", Protected.MARITAL_STATUS), ("Familienstand", Protected.MARITAL_STATUS),
    ("verheiratet", Protected.MARITAL_STATUS), ("foreign_worker", Protected.NATIONALITY),
    ("Staatsangehörigkeit", Protected.NATIONALITY), ("citizenship", Protected.NATIONALITY),
    ("Konfession", Protected.RELIGION), ("Herkunft", Protected.ETHNICITY), ("race", Protected.ETHNICITY),
    ("Behinderung", Protected.DISABILITY), ("Schwangerschaft", Protected.PREGNANCY),
    ("SEX", Protected.SEX), ("Geschlecht", Protected.SEX), ("Anrede", Protected.SEX),
    ("customerAge", Protected.AGE), ("Alter (Jahre)", Protected.AGE), ("birth_year", Protected.AGE),
    ("Geburtsjahr", Protected.AGE), ("personal_status_sex", Protected.SEX),
])
def test_protected_attributes_are_sensitive_with_their_meaning(name, meaning):
    roles = detect_roles(frame(**{name: [1, 2, 3, 4] * (N // 4)}))

    assert roles.roles[name] == Role.SENSITIVE
    assert roles.meanings[name] == meaning
    assert name not in roles.features


@pytest.mark.parametrize("name", ["language", "page", "mileage", "percentage", "storage", "account_age_days",
                                  "Seitenanzahl", "Verwalter"])
def test_words_that_merely_contain_age_are_not_protected(name):
    roles = detect_roles(frame(**{name: np.arange(N)}))

    assert roles.roles[name] == Role.FEATURE


@pytest.mark.parametrize("values", [["m", "w"] * (N // 2), ["Herr", "Frau"] * (N // 2),
                                    ["ledig", "verheiratet", "geschieden", "verwitwet"] * (N // 4)])
def test_sex_and_marital_status_are_recognised_by_their_values(values):
    roles = detect_roles(frame(Info3=values))

    assert roles.roles["Info3"] == Role.SENSITIVE
    assert "values" in roles.reasons["Info3"]


def test_a_full_date_of_birth_is_personal_data_that_reveals_age():
    roles = detect_roles(frame(Geburtsdatum=[f"0{1 + i % 9}.03.19{50 + i % 40}" for i in range(N)]))

    assert roles.roles["Geburtsdatum"] == Role.PII
    assert roles.meanings["Geburtsdatum"] == Protected.AGE


@pytest.mark.parametrize("name,values,meaning", [
    ("SeriousDlqin2yrs", FLAGS, Outcome.NOT_PAID), ("bad_credit", FLAGS, Outcome.NOT_PAID),
    ("credit_risk_class", ["good", "bad"] * (N // 2), Outcome.UNKNOWN_DIRECTION),
    ("zahlungsausfall", FLAGS + 1, Outcome.NOT_PAID), ("Ausfall", JN, Outcome.NOT_PAID),
    ("bezahlt", ["ja", "nein"] * (N // 2), Outcome.PAID), ("default.payment.next.month", FLAGS, Outcome.NOT_PAID),
    ("eingezogen_90_tage", np.linspace(0, 900, N), Outcome.AMOUNT),
])
def test_outcomes_are_targets_by_name_and_shape(name, values, meaning):
    roles = detect_roles(frame(**{name: values}))

    assert roles.roles[name] == Role.TARGET
    assert roles.meanings[name] == meaning
    assert name not in roles.features


@pytest.mark.parametrize("name", ["bad_debt_score", "Ausfallrisiko", "default_rate", "delinquency_days"])
def test_scores_and_rates_named_like_outcomes_stay_features(name):
    roles = detect_roles(frame(**{name: np.linspace(0, 1, N)}))

    assert roles.roles[name] == Role.FEATURE


def test_a_column_of_first_names_under_any_name_is_personal_data():
    names = ["Anna", "Thomas", "Jürgen", "Fatma", "Piotr", "Sabine", "Lukas", "Chloé"]
    roles = detect_roles(frame(Info1=[names[i % len(names)] for i in range(N)],
                               Info2=[["Braun", "Müller", "Yilmaz", "Schmidt"][i % 4] for i in range(N)]))

    assert roles.roles["Info1"] == Role.PII and roles.roles["Info2"] == Role.PII
    assert "person names" in roles.reasons["Info1"]


def test_categories_in_capitals_are_not_taken_for_names():
    roles = detect_roles(frame(Branche=["Energie", "Telekommunikation", "Versandhandel", "Bank"] * (N // 4),
                               Stadt_Region=["Berlin", "Hamburg", "München", "Köln"] * (N // 4)))

    assert roles.roles["Branche"] == Role.FEATURE


# ---------------------------------------------------------------------------- flags
@pytest.mark.parametrize("values,expected", [
    (["J", "N", None], [1.0, 0.0, None]), (["ja", "nein", "ja"], [1.0, 0.0, 1.0]),
    (["yes", "no", "yes"], [1.0, 0.0, 1.0]), (["true", "false", "TRUE"], [1.0, 0.0, 1.0]),
    (["wahr", "falsch", "wahr"], [1.0, 0.0, 1.0]), (["x", None, "x"], [1.0, 0.0, 1.0]),
    ([1, 0, 2], [1.0, 0.0, 1.0]), ([True, False, True], [1.0, 0.0, 1.0]),
])
def test_yes_no_values_are_read_as_flags(values, expected):
    got = flag_values(pd.Series(values)).tolist()

    assert [None if v != v else v for v in got] == expected


def test_a_flag_summary_counts_the_accounts_with_a_yes_or_a_no():
    assert flag_summary(pd.Series(["J", "N", None, "J"])) == {"share": 2 / 3, "count": 2, "known": 3}


def test_sex_codes_are_not_flags():
    assert not looks_like_flag(pd.Series(["m", "w", "m"]))


def test_large_columns_are_judged_as_flags_by_all_their_cells_not_by_the_quick_sample():
    """Above 2,000 cells a seeded sample rules out names and codes quickly; it must never rule out a
    flag (with blanks, a few odd cells, one case per block), nor let a name column through."""
    rng = np.random.default_rng(7)
    flags = pd.Series(rng.choice(["J", "n", "Ja", " "], size=20_000, p=[0.45, 0.45, 0.06, 0.04]))
    flags[rng.choice(20_000, size=800, replace=False)] = "unbekannt"  # 4 % odd cells: still a flag
    blanks = pd.Series(np.where(rng.random(20_000) < 0.9, " ", "x"))   # ticked boxes, 90 % blank
    names = pd.Series([f"Name {i}" for i in range(20_000)])
    mostly_odd = flags.where(rng.random(20_000) < 0.8, "vielleicht")   # 20 % odd: not a flag

    assert looks_like_flag(flags) and looks_like_flag(blanks)
    assert not looks_like_flag(names) and not looks_like_flag(mostly_odd)


def test_flag_columns_written_as_text_are_read_as_booleans(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Akte;Saldo;Verzugstage;Überschuldet;Bestritten;Markiert\n"
                    "A1;100,50;30;J;N;x\nA2;200,00;40;N;J;\nA3;300,00;50;J;;x\n", encoding="utf-8")

    data = read_table(path).frame

    assert data["Überschuldet"].tolist() == [True, False, True]
    assert data["Bestritten"].astype("object").tolist()[:2] == [False, True]
    assert data["Markiert"].tolist() == [True, False, True]


# ---------------------------------------------------------------------------- mapping and persistence
def test_the_mapping_sets_role_and_meaning_of_a_column():
    data = frame(Info7=JN, Kennz=FLAGS)

    roles = detect_roles(data, {"Info7": {"role": "feature", "meaning": "dispute"}, "Kennz": "opt_out.sms"})

    assert roles.roles["Info7"] == Role.FEATURE and roles.meanings["Info7"] == Meaning.DISPUTE
    assert roles.meanings["Kennz"] == Meaning.opt_out("sms")
    assert "mapping" in roles.meaning_reasons["Info7"]


def test_the_mapping_can_take_a_meaning_away():
    roles = detect_roles(frame(Bestritten=JN), {"Bestritten": {"meaning": None}})

    assert "Bestritten" not in roles.meanings
    assert roles.roles["Bestritten"] == Role.FEATURE


def test_a_protected_meaning_in_the_mapping_makes_the_column_sensitive():
    roles = detect_roles(frame(Feld3=[1, 2] * (N // 2)), {"Feld3": {"meaning": "protected.marital_status"}})

    assert roles.roles["Feld3"] == Role.SENSITIVE


def test_unknown_meanings_and_malformed_entries_in_the_mapping_are_named():
    with pytest.raises(PortfolioError) as caught:
        detect_roles(frame(Info7=JN), {"Info7": {"meaning": "disputed_maybe"}})
    assert "'Info7': 'disputed_maybe'" in str(caught.value) and "known meanings" in str(caught.value)

    with pytest.raises(PortfolioError, match="neither a role nor"):
        detect_roles(frame(Info7=JN), {"Info7": ["feature"]})


def test_meanings_round_trip_through_a_dict_and_old_dicts_still_load():
    roles = detect_roles(frame(Bestritten=JN, Geschlecht=["m", "w"] * (N // 2)))

    assert ColumnRoles.from_dict(json.loads(json.dumps(roles.to_dict()))) == roles
    old = {"roles": {"account_id": "account_id", "x": "feature"}, "reasons": {}, "renamed": {}, "proxies": []}
    assert ColumnRoles.from_dict(old).meanings == {}


def test_the_roles_table_shows_meaning_and_reason():
    table = detect_roles(frame(Bestritten=JN)).to_frame().set_index("column")

    assert table.loc["Bestritten", "meaning"] == Meaning.DISPUTE
    assert "bestritten" in table.loc["Bestritten", "meaning_reason"]


def test_column_meanings_answer_from_roles_dicts_and_plain_mappings():
    roles = detect_roles(frame(Bestritten=JN))

    assert ColumnMeanings.of(roles).column_for(Meaning.DISPUTE) == "Bestritten"
    assert ColumnMeanings.of(roles.to_dict()).column_for(Meaning.DISPUTE) == "Bestritten"
    assert ColumnMeanings.of({"Info7": Meaning.DISPUTE}).column_for(Meaning.DISPUTE) == "Info7"
    assert ColumnMeanings.of(None).column_for(Meaning.DISPUTE) is None


def test_detect_meaning_without_values_reads_the_name_alone():
    assert detect_meaning("Gebrochene Zahlungszusagen")[0] == Meaning.BROKEN_PROMISES
    assert detect_meaning("Branche") is None
