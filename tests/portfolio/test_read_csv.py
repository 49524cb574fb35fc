"""Reading delimited text: encodings, delimiters, German and English numbers, identifiers."""
from __future__ import annotations

import pandas as pd
import pytest

from portfolio.read import read_table
from portfolio_files import GERMAN_CSV, csv_bytes, english_rows


def test_german_cp1252_csv_with_decimal_comma_thousands_dots_and_umlauts_is_read(tmp_path):
    path = tmp_path / "Bestand.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252"))

    result = read_table(path)

    assert result.encoding == "cp1252"
    assert result.delimiter == ";"
    assert list(result.frame.columns)[3] == "Straße"
    assert result.frame["Offener Betrag"].tolist() == [1234.56, 99.5, 12500.0, 0.99]
    assert result.frame["Straße"].iloc[0] == "Hauptstraße 1"
    assert result.number_conventions["Offener Betrag"] == "de"


def test_account_ids_keep_their_leading_zeros_as_text():
    result = read_table(GERMAN_CSV.encode("cp1252"), filename="x.csv")

    assert result.frame["Kontonummer"].tolist() == ["000101", "000102", "000103", "000104"]


def test_numeric_looking_ids_stay_text_when_the_column_is_named_like_an_id():
    data = "Vertragsnummer;Saldo;dpd\n12345;10;1\n12346;20;2\n"

    result = read_table(data.encode(), filename="x.csv")

    assert result.frame["Vertragsnummer"].tolist() == ["12345", "12346"]


def test_utf8_file_with_byte_order_mark_is_read_and_reported():
    data = "\ufeff" + GERMAN_CSV

    result = read_table(data.encode("utf-8"), filename="bom.csv")

    assert result.encoding == "utf-8-sig"
    assert result.frame.columns[0] == "Kontonummer"


def test_plain_utf8_is_reported_as_utf8():
    assert read_table(GERMAN_CSV.encode("utf-8"), filename="x.csv").encoding == "utf-8"


def test_latin1_only_bytes_fall_back_to_latin1():
    data = "id;Saldo;dpd\nA;1;2\nB;3;4\n".encode("latin-1") + b"C;5;6\x81\n"  # 0x81 is undefined in cp1252

    result = read_table(data, filename="x.csv")

    assert result.encoding == "latin-1"


@pytest.mark.parametrize("sep", [",", "\t", "|", ";"])
def test_delimiter_is_sniffed(sep):
    result = read_table(csv_bytes(english_rows(), sep=sep), filename="x.csv")

    assert result.delimiter == sep
    assert list(result.frame.columns) == ["account_id", "balance", "days_past_due", "sector", "contacts"]
    assert result.frame["balance"].dtype == "float64"


@pytest.mark.parametrize("text,expected", [
    ("1.234,56", 1234.56), ("1234,56", 1234.56), ("-12,5", -12.5), ("€ 1.234,56", 1234.56),
    ("1.234,56 €", 1234.56), ("12,50-", -12.5), ("1.000.000", 1_000_000.0), ("0,5", 0.5),
])
def test_german_number_formats_are_parsed(text, expected):
    data = f"Konto;Betrag\nA;{text}\nB;2,25\n"

    result = read_table(data.encode(), filename="x.csv")

    assert result.frame["Betrag"].iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize("text,expected", [
    ("1,234.56", 1234.56), ("1234.56", 1234.56), ("-12.5", -12.5), ("$1,234.56", 1234.56),
    ("1,000,000", 1_000_000.0),
])
def test_english_number_formats_are_parsed(text, expected):
    data = f'id,amount\nA,"{text}"\nB,2.25\n'

    result = read_table(data.encode(), filename="x.csv")

    assert result.frame["amount"].iloc[0] == pytest.approx(expected)


def test_ambiguous_thousands_follow_the_german_columns_of_the_same_file():
    data = "Konto;Saldo;Ursprung\nA;1.234;99,95\nB;12.500;5,5\n"

    result = read_table(data.encode(), filename="x.csv")

    assert result.frame["Saldo"].tolist() == [1234.0, 12500.0]


def test_a_text_column_with_few_numbers_stays_text():
    data = "id;Branche\nA;Energie\nB;12\nC;Telko\n"

    result = read_table(data.encode(), filename="x.csv")

    assert result.frame["Branche"].tolist() == ["Energie", "12", "Telko"]


def test_a_mostly_numeric_column_is_converted_and_its_bad_cells_are_reported():
    rows = "\n".join(f"A{i};{i},5" for i in range(9))
    data = f"id;Saldo\n{rows}\nZ;kaputt\n"

    result = read_table(data.encode(), filename="x.csv")

    assert result.frame["Saldo"].dtype == "float64"
    assert pd.isna(result.frame["Saldo"].iloc[9])
    assert result.unparsed == {"Saldo": {9: "kaputt"}}


def test_whole_numbers_without_gaps_become_integers():
    result = read_table(csv_bytes(english_rows()), filename="x.csv")

    assert result.frame["days_past_due"].dtype == "int64"


def test_formulas_in_cells_are_kept_as_text_and_never_evaluated():
    data = 'id;Saldo;Notiz\nA;1;=cmd|\' /C calc\'!A0\nB;2;"=HYPERLINK(""http://x"")"\n'

    result = read_table(data.encode(), filename="x.csv")

    assert result.frame["Notiz"].tolist() == ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x")']


def test_blank_and_repeated_header_names_are_made_unique_with_a_note():
    data = "id;Saldo;Saldo;\nA;1;2;3\n"

    result = read_table(data.encode(), filename="x.csv")

    assert list(result.frame.columns) == ["id", "Saldo", "Saldo_2", "column_4"]
    assert any("appears more than once" in n for n in result.notes)


def test_sha256_of_the_bytes_is_reported():
    import hashlib

    data = csv_bytes(english_rows(3))

    assert read_table(data, filename="x.csv").sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_object_such_as_an_upload_is_read():
    import io

    buffer = io.BytesIO(GERMAN_CSV.encode("cp1252"))
    buffer.name = "upload.csv"

    assert read_table(buffer).source_name == "upload.csv"


def test_trailing_delimiters_on_data_lines_only_are_tolerated():
    data = "Konto;Saldo;dpd\nA;1,5;2;\nB;2,5;3;;\n"

    result = read_table(data.encode(), filename="sap.csv")

    assert list(result.frame.columns) == ["Konto", "Saldo", "dpd"]
    assert result.frame["Saldo"].tolist() == [1.5, 2.5]
