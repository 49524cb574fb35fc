"""Payments files (portfolio/payments.py): German and English exports, messy rows, clear reports."""
from __future__ import annotations

import datetime
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import UserError
from portfolio.payments import PaymentsError, load_payments
from tests.portfolio.portfolio_files import xlsx_bytes

TODAY = datetime.date(2026, 12, 31)
GERMAN = (
    "Kontonummer;Buchungsdatum;Betrag (EUR);Verwendungszweck\n"
    "000123;15.03.2026;1.234,56;Rate März\n"
    "000124;16.03.2026;-50,00;Rückbuchung\n"
    "000125;17.03.2026;10,00;Überweisung\n"
    "000126;18.03.2026;7,5;Teilzahlung\n"
)


def _load(data: bytes, name: str = "zahlungen.csv", **kwargs):
    return load_payments(data, filename=name, today=TODAY, **kwargs)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8", "utf-8-sig"])
def test_a_german_export_reads_ids_as_text_dates_day_first_and_decimal_commas(encoding):
    payments = _load(GERMAN.encode(encoding))
    frame = payments.frame
    assert frame["account_id"].tolist() == ["000123", "000124", "000125", "000126"]
    assert frame["paid_on"].dt.date.tolist() == [datetime.date(2026, 3, d) for d in (15, 16, 17, 18)]
    assert frame["amount"].tolist() == [1234.56, -50.0, 10.0, 7.5]
    assert str(frame["paid_on"].dtype) == "datetime64[ns]"
    assert payments.columns == {"account_id": "Kontonummer", "paid_on": "Buchungsdatum", "amount": "Betrag (EUR)"}


def test_an_english_export_with_iso_dates_and_thousands_separators():
    text = ("Account ID,Payment Date,Amount,Channel\n"
            "A1,2026-03-15,\"1,234.50\",bank transfer\nA2,2026-03-16,20.00,card\nA3,2026-03-17,5,card\n")
    payments = _load(text.encode(), name="payments.csv")
    assert payments.frame["amount"].tolist() == [1234.5, 20.0, 5.0]
    assert payments.frame["paid_on"].dt.strftime("%Y-%m-%d").tolist() == ["2026-03-15", "2026-03-16", "2026-03-17"]
    assert payments.report.n_rows_usable == 3 and not payments.report.errors


@pytest.mark.parametrize("header", [
    "Kundennummer;Zahlungsdatum;Zahlbetrag", "Konto;Datum;Betrag", "account_id;paid_on;amount",
    "Kunden-Nr.;Valutadatum;Zahlungsbetrag",
])
def test_header_synonyms_in_both_languages(header):
    payments = _load(f"{header}\nX1;01.02.2026;10,00\nX2;02.02.2026;20,00\n".encode())
    assert payments.frame["amount"].sum() == 30.0
    assert set(payments.columns.values()) == set(header.split(";"))


def test_messy_rows_are_excluded_and_reported_with_row_numbers_and_the_rest_kept():
    text = ("Kontonummer;Buchungsdatum;Betrag;Bemerkung;Filiale\n"
            "000123;15.03.2026;100,00;ok;Nord\n"
            ";16.03.2026;20,00;ohne Konto;Süd\n"           # row 3: empty id
            "000125;31.02.2026;10,00;kein Datum;Süd\n"     # row 4: unreadable date
            "000126;18.03.2026;abc;kaputt;Nord\n"          # row 5: unreadable amount
            "000127;;5,00;leer;Nord\n"                     # row 6: empty date
            "000128;19.03.2026;;leer;Nord\n"               # row 7: empty amount
            "000129;20.03.2026;30,00;ok;\n"
            "000130;21.03.2026;40,00;ok;Nord\n"
            "000131;22.03.2026;50,00;ok;Nord\n"
            "000132;23.03.2026;60,00;ok;Nord\n"
            "000133;24.03.2026;70,00;ok;Nord\n")
    payments = _load(text.encode("cp1252"))
    excluded = payments.report.excluded_rows.set_index("row")["reason"].to_dict()
    assert excluded == {3: "empty account id", 4: "payment date is not a date", 5: "amount is not a number",
                        6: "empty payment date", 7: "empty amount"}
    assert payments.report.n_rows_read == 11 and payments.report.n_rows_usable == 6
    messages = " | ".join(p.message for p in payments.report.errors)
    assert "column 'Buchungsdatum' (payment date): 1 value is not a date (e.g. '31.02.2026'; row 4)" in messages
    assert "column 'Betrag' (amount): 1 value is not an amount (e.g. 'abc'; row 5)" in messages
    assert list(payments.frame.columns) == ["account_id", "paid_on", "amount"]


def test_reversals_stay_negative_and_are_reported():
    payments = _load(GERMAN.encode())
    reversal = [p for p in payments.report.warnings if p.code == "reversal"]
    assert payments.n_reversals == 1 and reversal[0].rows == [3]
    assert "Rückbuchungen" in reversal[0].message and "-50.00" in reversal[0].message


def test_repeated_payments_are_kept_and_named():
    text = GERMAN + "000123;15.03.2026;1.234,56;Rate März\n"
    payments = _load(text.encode())
    duplicate = [p for p in payments.report.warnings if p.code == "duplicate_payment"]
    assert len(payments.frame) == 5 and duplicate[0].rows == [2, 6]
    assert "exported twice" in duplicate[0].message


def test_future_dates_are_kept_with_a_warning():
    payments = _load(GERMAN.replace("18.03.2026", "18.03.2027").encode())
    future = [p for p in payments.report.warnings if p.code == "future_date"]
    assert future and future[0].rows == [5] and len(payments.frame) == 4


def test_a_missing_column_names_the_file_the_columns_and_what_to_do():
    with pytest.raises(PaymentsError) as err:
        _load(b"Kontonummer;Buchungsdatum;Bemerkung\n1;15.03.2026;x\n2;16.03.2026;y\n")
    message = str(err.value)
    assert "zahlungen.csv" in message and "amount" in message and "'Bemerkung'" in message
    assert "--amount-column" in message


def test_a_mapping_chooses_columns_the_names_do_not_reveal():
    text = b"Ref;Tag;Summe\nA1;15.03.2026;10,00\nA2;16.03.2026;20,00\n"
    payments = _load(text, mapping={"account_id": "Ref", "amount": "Summe"})
    assert payments.frame["account_id"].tolist() == ["A1", "A2"] and payments.frame["amount"].sum() == 30.0
    assert any("'Tag' holds dates" in p.message for p in payments.report.warnings)
    with pytest.raises(PaymentsError, match="has no column 'Nope'"):
        _load(text, mapping={"account_id": "Nope", "amount": "Summe"})


def test_a_file_with_mostly_unreadable_dates_is_refused_naming_rows_and_the_fix():
    text = "Konto;Datum;Betrag\n" + "".join(f"K{i};März {i};10,00\n" for i in range(6)) + "K9;01.03.2026;5,00\n"
    with pytest.raises(UserError) as err:
        _load(text.encode())
    assert "6 of 7 rows" in str(err.value) and "--date-column" in str(err.value)
    assert any("rows 2, 3, 4, 5, 6, 7" in line for line in err.value.lines)


def test_an_empty_file_is_refused():
    with pytest.raises(UserError, match="empty"):
        _load(b"")


def test_excel_dates_and_numbers_are_read():
    data = xlsx_bytes({"Zahlungen": [["Kundennummer", "Zahlungsdatum", "Betrag"],
                                     ["K1", datetime.datetime(2026, 3, 15), 12.5],
                                     ["K2", datetime.datetime(2026, 3, 16), -3.0],
                                     ["K3", "17.03.2026", 8]]})
    payments = _load(data, name="zahlungen.xlsx")
    assert payments.frame["paid_on"].dt.day.tolist() == [15, 16, 17]
    assert payments.frame["amount"].tolist() == [12.5, -3.0, 8.0]


def test_parquet_with_integer_ids_and_date_objects():
    frame = pd.DataFrame({"account_id": [101, 102], "paid_on": [datetime.date(2026, 3, 1), datetime.date(2026, 3, 2)],
                          "amount": [10.0, 20.0]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    payments = _load(buffer.getvalue(), name="payments.parquet")
    assert payments.frame["account_id"].tolist() == ["101", "102"]
    assert payments.frame["paid_on"].dt.day.tolist() == [1, 2]


def test_the_summary_is_json_safe():
    import json

    summary = _load(GERMAN.encode()).summary()
    assert json.loads(json.dumps(summary))["rows"] == {"read": 4, "used": 4, "excluded": {}}
    assert summary["first_date"] == "2026-03-15" and summary["reversals"] == 1


CELLS = st.one_of(st.sampled_from(["", "K1", "000123", "15.03.2026", "2026-03-15", "31.02.2026", "1.234,56",
                                   "-50,00", "12.5", "abc", "n/a", "∞", "1e400", "  ", "\"", ";", "ÄÖÜ"]),
                  st.text(max_size=8))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(CELLS, min_size=3, max_size=4), min_size=1, max_size=8),
       encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_any_payments_text_ends_in_payments_or_a_user_error(rows, encoding):
    text = "Kontonummer;Buchungsdatum;Betrag\n" + "\n".join(";".join(row) for row in rows)
    try:
        payments = load_payments(text.encode(encoding, errors="replace"), filename="p.csv", today=TODAY)
    except UserError as err:
        assert str(err)
        return
    frame = payments.frame
    assert frame["account_id"].notna().all() and frame["paid_on"].notna().all()
    assert np.isfinite(frame["amount"].to_numpy()).all()
    assert payments.report.n_rows_usable == len(frame) <= payments.report.n_rows_read


def test_a_german_reader_gets_the_report_in_german_and_the_stored_summary_stays_english():
    data = (GERMAN + "000127;31.02.2026;5,00;Tippfehler\n").encode("utf-8")
    payments = _load(data)
    english, german = payments.lines(), payments.lines("de")
    assert english[-1].startswith("summary: 5 rows read, 1 excluded, 4 used (account id = 'Kontonummer'")
    assert german[-1].startswith("Zusammenfassung: 5 Zeilen gelesen, 1 ausgeschlossen, 4 verwendet "
                                 "(Kontonummer = 'Kontonummer', Zahlungsdatum = 'Buchungsdatum'")
    assert "Zahlungen vom 15.03.2026 bis 18.03.2026, gesamt 1.202,06" in german[-1]
    assert any(line.startswith("Fehler: Spalte 'Buchungsdatum' (Zahlungsdatum): 1 Wert ist kein Datum") and
               "Zeile 6" in line for line in german)
    assert any("als Rückbuchungen behalten, zusammen -50,00" in line for line in german)
    summary = payments.summary()
    assert all(p["message"].isascii() or "Rückbuchungen" in p["message"] for p in summary["problems"])
