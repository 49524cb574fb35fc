"""Column meanings for limitation and contact rules: titled claims, acknowledgement, last part-payment, last
conversation and per-channel opt-in, recognised from German and English names with J/N or 0/1 flags and
German or ISO dates; a name whose values cannot hold the meaning gives none."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from portfolio.meanings import ALL_MEANINGS, Meaning, date_value, date_values, detect_meaning, detect_meanings
from portfolio.roles import detect_roles

N = 12
JN = ["J", "N"] * (N // 2)
BITS = [1, 0] * (N // 2)
GERMAN_DATES = ["15.03.2021", "01.12.2022", None] * (N // 3)
ISO_DATES = ["2021-03-15", "2022-12-01", ""] * (N // 3)


@pytest.mark.parametrize("name, values, meaning", [
    ("tituliert", JN, Meaning.TITLED),
    ("Titel_vorhanden", BITS, Meaning.TITLED),
    ("Vollstreckungstitel", ["ja", "nein"] * (N // 2), Meaning.TITLED),
    ("titled", [True, False] * (N // 2), Meaning.TITLED),
    ("anerkannt_am", GERMAN_DATES, Meaning.ACKNOWLEDGED_ON),
    ("acknowledgement_date", ISO_DATES, Meaning.ACKNOWLEDGED_ON),
    ("letzte_Teilzahlung", GERMAN_DATES, Meaning.LAST_PAYMENT_ON),
    ("last_payment_date", ISO_DATES, Meaning.LAST_PAYMENT_ON),
    ("letztes_Gespraech", GERMAN_DATES, Meaning.LAST_CONVERSATION_ON),
    ("Letztes Gespräch", GERMAN_DATES, Meaning.LAST_CONVERSATION_ON),
    ("last_conversation", ISO_DATES, Meaning.LAST_CONVERSATION_ON),
    ("WhatsApp_Einwilligung", JN, Meaning.opt_in("whatsapp")),
    ("whatsapp_opt_in", BITS, Meaning.opt_in("whatsapp")),
    ("SMS Einwilligung", JN, Meaning.opt_in("sms")),
])
def test_german_and_english_names_give_the_new_meanings(name, values, meaning):
    found = detect_meaning(name, pd.Series(values))
    assert found is not None and found[0] == meaning


@pytest.mark.parametrize("name, values", [
    ("Titel", ["Dr.", "Prof.", None] * (N // 3)),  # an academic title, not an enforceable one
    ("letzte_Teilzahlung", [12.5, 30.0] * (N // 2)),  # an amount, not a date
    ("anerkannt_am", JN),  # a flag, not a date
    ("whatsapp_opt_in", ["maybe", "later"] * (N // 2)),
])
def test_a_name_whose_values_cannot_hold_the_meaning_gives_none_of_the_new_meanings(name, values):
    found = detect_meaning(name, pd.Series(values))
    assert found is None or found[0] not in (Meaning.TITLED, Meaning.ACKNOWLEDGED_ON, Meaning.LAST_PAYMENT_ON,
                                             Meaning.opt_in("whatsapp"))


def test_opt_in_and_opt_out_stay_apart():
    assert detect_meaning("whatsapp_opt_out", pd.Series(JN))[0] == Meaning.opt_out("whatsapp")
    assert detect_meaning("WhatsApp Widerspruch", pd.Series(JN))[0] == Meaning.opt_out("whatsapp")
    assert detect_meaning("whatsapp_opt_in", pd.Series(JN))[0] == Meaning.opt_in("whatsapp")


def test_the_new_meanings_are_known_flags_and_dates():
    assert {Meaning.TITLED, Meaning.opt_in("whatsapp")} <= set(Meaning.FLAGS)
    assert {Meaning.ACKNOWLEDGED_ON, Meaning.LAST_PAYMENT_ON, Meaning.LAST_CONVERSATION_ON} <= set(Meaning.DATES)
    assert set(Meaning.FLAGS) | set(Meaning.DATES) <= set(ALL_MEANINGS)


def test_german_and_iso_dates_are_read_alike():
    values = pd.Series(["15.03.2021", "2021-03-15", "15.03.21", None, "kein Datum", "2021-03-15T08:30:00"])
    read = date_values(values)
    assert [None if pd.isna(v) else v.date() for v in read] == [
        date(2021, 3, 15), date(2021, 3, 15), date(2021, 3, 15), None, None, date(2021, 3, 15)]
    assert date_value("10.06.2023") == date(2023, 6, 10) and date_value(float("nan")) is None
    assert date_values(pd.Series([20210315, 1])).isna().all()  # numbers are not guessed as dates


def test_a_german_export_gets_every_meaning_and_roles_still_decide():
    frame = pd.DataFrame({"Fallnummer": [f"F{i}" for i in range(N)], "Offener Betrag": [100.0 + i for i in range(N)],
                          "Tage im Verzug": list(range(N)), "tituliert": JN, "anerkannt_am": GERMAN_DATES,
                          "letzte_Teilzahlung": GERMAN_DATES, "letztes_Gespraech": GERMAN_DATES,
                          "WhatsApp_Einwilligung": BITS})
    meanings = detect_meanings(frame)
    assert meanings.column_for(Meaning.TITLED) == "tituliert"
    assert meanings.column_for(Meaning.ACKNOWLEDGED_ON) == "anerkannt_am"
    assert meanings.column_for(Meaning.LAST_PAYMENT_ON) == "letzte_Teilzahlung"
    assert meanings.column_for(Meaning.LAST_CONVERSATION_ON) == "letztes_Gespraech"
    assert meanings.column_for(Meaning.opt_in("whatsapp")) == "WhatsApp_Einwilligung"
    roles = detect_roles(frame)
    assert roles.column_for(Meaning.TITLED) == "tituliert"
    assert roles.column_for(Meaning.LAST_PAYMENT_ON) == "letzte_Teilzahlung"
