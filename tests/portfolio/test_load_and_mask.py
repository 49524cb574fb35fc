"""load_portfolio returns the usable rows under canonical names; mask_pii hides personal data for display."""
from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.load import load_portfolio
from portfolio.mask import mask_pii
from portfolio.roles import detect_roles
from portfolio_files import GERMAN_CSV, parquet_bytes, xlsx_bytes


def test_german_csv_loads_with_canonical_columns_and_types():
    portfolio = load_portfolio(GERMAN_CSV.encode("cp1252"), filename="bestand.csv")

    frame = portfolio.frame
    assert portfolio.is_usable
    assert list(frame.columns[:3]) == ["account_id", "balance", "days_past_due"]
    assert frame["account_id"].tolist() == ["000101", "000102", "000103", "000104"]
    assert frame["balance"].dtype == "float64"
    assert frame["days_past_due"].tolist() == [12, 0, 365, 45]
    assert "Branche" in frame.columns  # other columns keep their source names
    assert portfolio.source_name == "bestand.csv"
    assert len(portfolio.sha256) == 64


def test_rows_with_blocking_problems_are_left_out_but_listed():
    data = "Konto;Saldo;dpd\nA;1;1\nB;-1;2\nC;3;3\nC;4;4\nD;5;5\n".encode()

    portfolio = load_portfolio(data, filename="x.csv")

    assert portfolio.frame["account_id"].tolist() == ["A", "D"]
    assert portfolio.row_numbers.tolist() == [2, 6]
    assert portfolio.report.excluded_rows["row"].tolist() == [3, 4, 5]
    assert portfolio.report.n_rows_read == len(portfolio.frame) + len(portfolio.report.excluded_rows)


def test_xlsx_and_parquet_load_the_same_portfolio():
    rows = [["Aktenzeichen", "Saldo", "Verzugstage"], ["A1", 10.5, 3], ["A2", 20.0, 4]]
    from_xlsx = load_portfolio(xlsx_bytes({"S": rows}), filename="b.xlsx")
    from_parquet = load_portfolio(parquet_bytes(pd.DataFrame(rows[1:], columns=rows[0])), filename="b.parquet")

    pd.testing.assert_frame_equal(from_xlsx.frame, from_parquet.frame)


def test_a_frame_in_memory_can_be_loaded():
    data = pd.DataFrame({"account_id": [1, 2], "balance": [1.0, 2.0], "days_past_due": [0, 5]})

    portfolio = load_portfolio(data)

    assert portfolio.frame["account_id"].tolist() == ["1", "2"]
    assert portfolio.read is None


def test_unusable_portfolio_is_returned_with_the_reason_not_raised():
    portfolio = load_portfolio(b"a;b\n1;2\n", filename="x.csv")

    assert not portfolio.is_usable
    assert portfolio.report.unusable_reasons


def test_model_features_exclude_ids_pii_sensitive_targets_and_truth():
    data = pd.DataFrame({"account_id": [f"A{i}" for i in range(20)], "balance": np.arange(20.0),
                         "days_past_due": np.arange(20), "Vorname": ["Max"] * 20, "Alter": np.arange(20),
                         "paid_90d": [0, 1] * 10, "true_persona": ["x", "y"] * 10, "contacts": np.arange(20) % 3})

    portfolio = load_portfolio(data)

    assert portfolio.model_features == ["balance", "days_past_due", "contacts"]


def test_pii_columns_are_masked_and_others_kept():
    data = pd.DataFrame({"Name": ["Max Müller", None], "E-Mail": ["jana.mueller@example.de", "x@y.de"],
                         "IBAN": ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000"],
                         "Telefon": ["+49 171 1234567", "030 1234567"], "Geburtsdatum": ["12.03.1971", "01.01.1980"],
                         "Saldo": [1.5, 2.5]})
    roles = detect_roles(data)

    masked = mask_pii(data, roles)

    assert masked["Name"].iloc[0] == "Ma*** Mü***"
    assert pd.isna(masked["Name"].iloc[1])
    assert masked["E-Mail"].iloc[0] == "j***@example.de"
    assert masked["IBAN"].tolist() == ["DE89 **** **** **** **** 00"] * 2
    assert masked["Telefon"].iloc[0] == "+49 *** *****67"
    assert masked["Geburtsdatum"].iloc[0] == "**.**.****"
    assert masked["Saldo"].tolist() == [1.5, 2.5]
    assert data["Name"].iloc[0] == "Max Müller"  # the input is not changed


def test_masked_frame_contains_no_original_pii_value():
    portfolio = load_portfolio(GERMAN_CSV.encode("cp1252"), filename="x.csv")

    masked = mask_pii(portfolio.frame, portfolio.roles)

    assert not set(portfolio.frame["Straße"]) & set(masked["Straße"])


def test_parquet_columns_that_cannot_be_read_are_named_in_the_report():
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"account_id": ["A", "B"], "balance": [1.0, 2.0], "days_past_due": [1, 2],
                      "history": [[1, 2], [3]]})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)

    portfolio = load_portfolio(buffer.getvalue().to_pybytes(), filename="n.parquet")

    assert portfolio.is_usable
    assert any("'history'" in p.message and "nested" in p.message for p in portfolio.report.warnings)
