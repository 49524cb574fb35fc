"""Reading Excel workbooks and Parquet files."""
from __future__ import annotations

import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import PortfolioError
from portfolio.read import read_table
from portfolio_files import parquet_bytes, xlsx_bytes

HEADER = ["Aktenzeichen", "Offener Betrag", "Verzugstage", "Branche"]


def test_xlsx_written_with_openpyxl_is_read_from_the_first_sheet(tmp_path):
    path = tmp_path / "bestand.xlsx"
    path.write_bytes(xlsx_bytes({
        "Bestand": [HEADER, ["0001", 1234.56, 12, "Energie"], ["0002", 99.5, 0, "Telko"]],
        "Notizen": [["x"], ["y"]],
    }))

    result = read_table(path)

    assert result.file_format == "xlsx"
    assert result.frame["Aktenzeichen"].tolist() == ["0001", "0002"]
    assert result.frame["Offener Betrag"].tolist() == [1234.56, 99.5]
    assert result.frame["Verzugstage"].tolist() == [12, 0]


def test_xlsx_sheet_can_be_chosen_by_name():
    data = xlsx_bytes({"Info": [["readme"], ["text"]], "Daten": [HEADER, ["A", 1, 2, "x"]]})

    result = read_table(data, filename="b.xlsx", sheet="Daten")

    assert list(result.frame.columns) == HEADER


def test_unknown_sheet_name_lists_the_sheets():
    data = xlsx_bytes({"Info": [["a"], ["b"]]})

    with pytest.raises(PortfolioError, match="no sheet 'Daten'.*'Info'"):
        read_table(data, filename="b.xlsx", sheet="Daten")


def test_xlsx_numeric_ids_become_text_without_decimals():
    data = xlsx_bytes({"S": [["Kontonummer", "Saldo"], [100234, 5.0], [100235, 7.5]]})

    result = read_table(data, filename="b.xlsx")

    assert result.frame["Kontonummer"].tolist() == ["100234", "100235"]


def test_xlsx_german_text_amounts_and_dates_are_typed():
    data = xlsx_bytes({"S": [["id", "Saldo", "Datum"], ["A", "1.234,56", datetime.datetime(2024, 1, 2)],
                             ["B", "2,50", datetime.datetime(2024, 2, 3)]]})

    result = read_table(data, filename="b.xlsx")

    assert result.frame["Saldo"].tolist() == [1234.56, 2.5]
    assert pd.api.types.is_datetime64_any_dtype(result.frame["Datum"])


def test_xlsx_formulas_are_kept_as_text_and_never_evaluated():
    data = xlsx_bytes({"S": [["id", "Saldo", "Notiz"], ["A", 1, "=cmd|' /C calc'!A0"], ["B", 2, "=1+1"]]})

    result = read_table(data, filename="b.xlsx")

    assert result.frame["Notiz"].tolist() == ["=cmd|' /C calc'!A0", "=1+1"]
    assert any("never evaluated" in note for note in result.notes)


def test_parquet_file_is_read_with_its_types(tmp_path):
    path = tmp_path / "bestand.parquet"
    path.write_bytes(parquet_bytes(pd.DataFrame({"account_id": ["A", "B"], "balance": [1.5, 2.0],
                                                 "days_past_due": [3, 4]})))

    result = read_table(path)

    assert result.file_format == "parquet"
    assert result.frame["balance"].tolist() == [1.5, 2.0]
    assert result.frame["days_past_due"].tolist() == [3, 4]


def test_parquet_nested_and_binary_columns_are_left_out_with_a_reason():
    table = pa.table({"account_id": ["A", "B"], "tags": [[1, 2], [3]],
                      "meta": [{"a": 1}, {"a": 2}], "blob": [b"\x00", b"\x01"]})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)

    result = read_table(buffer.getvalue().to_pybytes(), filename="n.parquet")

    assert list(result.frame.columns) == ["account_id"]
    assert set(result.skipped_columns) == {"tags", "meta", "blob"}
    assert "nested" in result.skipped_columns["tags"]
    assert "binary" in result.skipped_columns["blob"]


def test_parquet_with_only_nested_columns_is_refused_clearly():
    table = pa.table({"tags": [[1], [2]]})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)

    with pytest.raises(PortfolioError, match="none of its columns can be read"):
        read_table(buffer.getvalue().to_pybytes(), filename="n.parquet")


def test_truncated_parquet_is_a_clear_error():
    data = parquet_bytes(pd.DataFrame({"a": range(100)}))

    with pytest.raises(PortfolioError, match="not a readable Parquet file"):
        read_table(data[: len(data) // 2], filename="t.parquet")


def test_truncated_xlsx_is_a_clear_error():
    data = xlsx_bytes({"S": [HEADER, ["A", 1, 2, "x"]]})

    with pytest.raises(PortfolioError, match="damaged or truncated"):
        read_table(data[: len(data) // 2], filename="t.xlsx")


def test_empty_first_sheet_names_the_other_sheets():
    data = xlsx_bytes({"Deckblatt": [], "Daten": [HEADER, ["A", 1, 2, "x"]]})

    with pytest.raises(PortfolioError, match="sheet 'Deckblatt' is empty; other sheets: 'Daten'"):
        read_table(data, filename="b.xlsx")
