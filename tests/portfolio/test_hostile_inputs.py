"""Hostile and broken files end in a clear PortfolioError, quickly and without large memory use (issue 7)."""
from __future__ import annotations

import io
import os
import time
import zipfile

import pandas as pd
import pytest

from core.errors import PortfolioError
from portfolio.read import read_table
from portfolio.read_binary import check_zip
from portfolio_files import GERMAN_CSV, csv_bytes, english_rows, parquet_bytes, replace_in_zip, xlsx_bytes

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


def _refused_quickly(data: bytes, filename: str, match: str, seconds: float = 10.0, **kwargs) -> str:
    started = time.perf_counter()
    with pytest.raises(PortfolioError, match=match) as caught:
        read_table(data, filename=filename, **kwargs)
    assert time.perf_counter() - started < seconds
    assert filename in str(caught.value)
    return str(caught.value)


def test_csv_text_named_xlsx_is_refused_saying_what_it_looks_like():
    message = _refused_quickly(GERMAN_CSV.encode(), "bestand.xlsx", "name says an Excel workbook")
    assert "looks like delimited text (CSV)" in message


def test_xlsx_named_csv_is_refused_saying_what_it_looks_like():
    data = xlsx_bytes({"S": [["id"], ["A"]]})
    _refused_quickly(data, "bestand.csv", "looks like an Excel workbook")


def test_parquet_named_xlsx_is_refused():
    _refused_quickly(parquet_bytes(pd.DataFrame({"a": [1]})), "bestand.xlsx", "looks like a Parquet file")


def test_plain_zip_named_xlsx_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    _refused_quickly(buffer.getvalue(), "bestand.xlsx", "not an Excel workbook")


def test_old_xls_file_gets_advice_to_save_as_xlsx():
    _refused_quickly(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "alt.xls", r"save it as \.xlsx or CSV")


def test_garbage_bytes_are_refused_as_binary():
    _refused_quickly(os.urandom(2000).replace(b"PK", b"pk") + b"\x00", "zufall.csv", "binary data")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "leer.csv"
    path.write_bytes(b"")
    with pytest.raises(PortfolioError, match="leer.csv: the file is empty"):
        read_table(path)


def test_whitespace_only_file_is_refused():
    _refused_quickly(b"\n\n  \r\n", "leer.csv", "empty")


def test_header_only_file_is_refused_naming_the_header():
    _refused_quickly(b"Konto;Saldo;Verzugstage\n", "kopf.csv", "header row.*Konto.*no data rows")


def test_ten_thousand_columns_are_refused_quickly():
    header = ";".join(f"c{i}" for i in range(10_000))
    data = (header + "\n" + ";".join("1" for _ in range(10_000)) + "\n").encode()
    _refused_quickly(data, "breit.csv", "10,000 columns", seconds=5)


def test_ten_thousand_columns_in_xlsx_are_refused():
    data = xlsx_bytes({"S": [[f"c{i}" for i in range(10_000)], list(range(10_000))]})
    _refused_quickly(data, "breit.xlsx", "more than 1,000 columns", seconds=30)


def test_one_fifty_megabyte_line_is_refused_quickly():
    data = b"id;Saldo\nA;" + b"9" * (50 * 2**20) + b"\n"
    message = _refused_quickly(data, "lang.csv", "line 2 is", seconds=5)
    assert "limit" in message


def test_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    path = tmp_path / "gross.csv"
    path.write_bytes(csv_bytes(english_rows(200)))
    message = _refused_quickly(path.read_bytes(), "gross.csv", "over the 0 MB limit", max_bytes=1000)
    assert "--max-mb" in message
    with pytest.raises(PortfolioError, match=r"the file is 0\.0 MB, over the"):
        read_table(path, max_bytes=1000)


def test_mixed_encodings_are_decoded_line_by_line_with_a_note():
    data = "id;Saldo;Ort\n".encode() + "A;1;München\n".encode("utf-8") + "B;2;Köln\n".encode("cp1252")

    result = read_table(data, filename="gemischt.csv")

    assert result.frame["Ort"].tolist() == ["München", "Köln"]
    assert result.encoding == "mixed utf-8/cp1252"
    assert any("mixed text encodings" in note and "3" in note for note in result.notes)


def test_utf8_read_as_cp1252_mojibake_gets_a_note():
    data = "id;Saldo;Ort\nA;1;M\u00c3\u00bcnchen\n".encode("utf-8")  # UTF-8 encoded twice

    result = read_table(data, filename="kaputt.csv")

    assert any("garbled" in note for note in result.notes)


def test_row_with_too_many_fields_names_the_line():
    _refused_quickly(b"id;Saldo\nA;1\nB;2;3\n", "zeilen.csv", "line 3 has 3 fields but the header has 2")


def test_truncated_csv_inside_a_quote_is_a_clear_error():
    _refused_quickly(b'id;Saldo;Notiz\nA;1;"ok"\nB;2;"abgeschn', "ende.csv", "never closed")


def test_zip_bomb_disguised_as_xlsx_is_refused_before_decompressing():
    data = xlsx_bytes({"S": [["id"], ["A"]]})
    bomb = replace_in_zip(data, "xl/worksheets/sheet1.xml", b"<" + b"\x00" * (40 * 2**20))
    assert len(bomb) < 200_000
    _refused_quickly(bomb, "bombe.xlsx", "possible ZIP bomb", seconds=5)


def test_zip_larger_than_the_uncompressed_limit_is_refused():
    data = xlsx_bytes({"S": [["id"], ["A"]]})
    with pytest.raises(PortfolioError, match="would expand to"):
        check_zip(data, "klein.xlsx", max_uncompressed=1000)


def test_xml_bomb_in_a_sheet_is_refused():
    data = replace_in_zip(xlsx_bytes({"S": [["id"], ["A"]]}), "xl/worksheets/sheet1.xml", BILLION_LAUGHS)
    _refused_quickly(data, "lachen.xlsx", "XML entities", seconds=5)


def test_xml_bomb_in_the_workbook_part_is_refused():
    workbook_bomb = BILLION_LAUGHS.replace(b"<worksheet", b"<workbook").replace(b"</worksheet>", b"</workbook>")
    data = replace_in_zip(xlsx_bytes({"S": [["id"], ["A"]]}), "xl/workbook.xml", workbook_bomb)
    _refused_quickly(data, "lachen.xlsx", "XML entities|could not be opened", seconds=5)


def test_openpyxl_parses_through_defusedxml():
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PortfolioError, match="file not found"):
        read_table(tmp_path / "fehlt.csv")


def test_long_line_at_the_end_of_a_large_file_is_found_across_scan_chunks():
    from portfolio.read_text import check_line_lengths

    data = b"a;b\n" * 10 + b"x" * 5000
    with pytest.raises(PortfolioError, match="line 11 is 5,000 characters"):
        check_line_lengths(data, "f.csv", max_line_chars=1000, chunk=64)


def test_frame_with_repeated_column_names_is_a_clear_error():
    from portfolio.load import load_portfolio

    frame = pd.DataFrame([[1, 2]], columns=["Saldo", "Saldo"])
    with pytest.raises(PortfolioError, match="more than once: 'Saldo'"):
        load_portfolio(frame)


def test_millions_of_tiny_lines_are_refused_before_parsing(monkeypatch):
    import portfolio.read

    monkeypatch.setattr(portfolio.read, "MAX_ROWS", 1_000)
    _refused_quickly(b"a\n" * 5_000, "viele.csv", "more than the 1,000 rows", seconds=5)


def test_parquet_that_expands_to_too_many_rows_is_refused_from_its_metadata():
    from portfolio.read_guard import ReadBudget

    data = parquet_bytes(pd.DataFrame({"a": [0] * 1_000}))
    _refused_quickly(data, "viele.parquet", "1,000 rows", seconds=5, budget=ReadBudget(max_rows=100))
