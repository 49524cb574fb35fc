"""Parser budgets (docs/security.md, "Resource limits"): a small Parquet file that expands to far more
than the budget, and a 50 MB XLSX, are refused with a message naming the budget; the file is parsed
in a child process with a memory limit, so the reading process stays small.

Each hostile file is read by ``read_table`` in a fresh Python process, which reports its own peak
resident memory (``VmHWM``) and the parser child's (reported by the child); the test prints both and
asserts a bound.
Nothing here asserts wall-clock time.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.errors import PortfolioError
from portfolio.read import read_table
from portfolio.read_guard import DEFAULT_BUDGET, ReadBudget

REPO = Path(__file__).resolve().parents[2]
#: What the reading process and the parser child may each reach while refusing a bomb.
PEAK_BOUND_BYTES = 512 * 2**20

READ_AND_REPORT = """
import json, sys
from core.errors import PortfolioError
from portfolio import read_guard
from portfolio.read import read_table
try:
    read_table(sys.argv[1])
    outcome = None
except PortfolioError as err:
    outcome = str(err)
print(json.dumps({"refused": outcome, "peak_rss": read_guard.peak_rss_bytes(),
                  "child_peak_rss": read_guard.last_child_peak_bytes}))
"""


def _read_in_fresh_process(path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", READ_AND_REPORT, str(path)], capture_output=True, text=True,
                          env=env, cwd=str(REPO), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{path.name} ({path.stat().st_size / 2**20:,.1f} MB on disk): peak memory of the reading process "
          f"{report['peak_rss'] / 2**20:,.0f} MB, of the parser child {report['child_peak_rss'] / 2**20:,.0f} MB; "
          f"refused: {report['refused']}")
    return report


# ------------------------------------------------------------------------------------------ Parquet
def _parquet_bomb(distinct: int, length: int, rows: int) -> bytes:
    """One dictionary-encoded text column: ``distinct`` random strings of ``length`` characters, each
    repeated in a run (so the indices compress to almost nothing), ``rows`` rows in one row group.
    The metadata declares about ``distinct * length`` uncompressed bytes; the column expands to
    ``rows * length``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(14)
    values = pa.array(["".join(map(chr, rng.integers(33, 127, length))) for _ in range(distinct)])
    indices = np.repeat(np.arange(distinct, dtype="int32"), -(-rows // distinct))[:rows]
    table = pa.table({"account_id": pa.DictionaryArray.from_arrays(pa.array(indices), values)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=rows, compression="zstd", store_schema=False,
                   dictionary_pagesize_limit=2 * distinct * length)
    return buffer.getvalue()


def test_a_one_megabyte_parquet_bomb_is_refused_within_the_budgets(tmp_path):
    # 100 strings of 10,000 characters (the longest a cell may be), 4.9 million rows (under the row
    # cap): about 1 MB on disk and in the metadata, 49 GB once expanded.
    data = _parquet_bomb(distinct=100, length=DEFAULT_BUDGET.max_string_chars, rows=4_900_000)
    path = tmp_path / "bomb.parquet"
    path.write_bytes(data)
    assert 0.5 * 2**20 < len(data) < 2 * 2**20
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_rows <= DEFAULT_BUDGET.max_rows
    assert metadata.row_group(0).total_byte_size < DEFAULT_BUDGET.max_uncompressed_bytes  # the metadata passes
    report = _read_in_fresh_process(path)
    assert report["refused"] and "bomb.parquet" in report["refused"]
    assert f"budget of {DEFAULT_BUDGET.max_uncompressed_bytes / 2**20:,.0f} MB" in report["refused"]
    assert "split it" in report["refused"]
    assert report["peak_rss"] < PEAK_BOUND_BYTES and report["child_peak_rss"] < PEAK_BOUND_BYTES


def test_a_parquet_text_longer_than_the_string_budget_is_refused_before_it_is_expanded(tmp_path):
    data = _parquet_bomb(distinct=1, length=2**20, rows=4_000_000)  # one 1 MB text, 4 million times: 4 TB
    path = tmp_path / "long-text.parquet"
    path.write_bytes(data)
    report = _read_in_fresh_process(path)
    assert report["refused"] and "long-text.parquet" in report["refused"]
    assert f"string budget of {DEFAULT_BUDGET.max_string_chars:,}" in report["refused"]
    assert "column 'account_id'" in report["refused"]
    assert report["peak_rss"] < PEAK_BOUND_BYTES and report["child_peak_rss"] < PEAK_BOUND_BYTES


def test_parquet_rows_and_cells_are_checked_from_the_metadata_before_decompressing():
    # Budgets passed explicitly to keep the file small.
    data = _parquet_bomb(distinct=3, length=10, rows=3_000)
    with pytest.raises(PortfolioError, match=r"bomb\.parquet: holds 3,000 rows .* budget of 1,000 rows"):
        read_table(data, filename="bomb.parquet", budget=ReadBudget(max_rows=1_000))
    with pytest.raises(PortfolioError, match=r"3,000 cells, more than the cell budget of 2,999; refused before decompressing"):
        read_table(data, filename="bomb.parquet", budget=ReadBudget(max_cells=2_999))


def test_the_parser_child_has_a_memory_limit_and_its_death_is_a_clear_error(tmp_path):
    # 1,000 strings of 10,000 characters expand to 10 MB; a child allowed only 8 MB more than its
    # libraries needs more and is stopped by RLIMIT_AS: one PortfolioError, no traceback.
    data = _parquet_bomb(distinct=1_000, length=10_000, rows=1_000)
    with pytest.raises(PortfolioError, match=r"memory budget of 8 MB") as caught:
        read_table(data, filename="bomb.parquet", budget=ReadBudget(memory_bytes=8 * 2**20))
    assert "bomb.parquet" in str(caught.value) and "CSV" in str(caught.value)


def test_an_ordinary_parquet_file_is_still_read_in_full(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"account_id": [f"A{i:05d}" for i in range(20_000)], "balance": np.arange(20_000) * 1.5,
                          "days_past_due": np.arange(20_000) % 90, "sector": ["energy", "telco"] * 10_000})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, row_group_size=3_000)
    result = read_table(buffer.getvalue(), filename="ordinary.parquet")
    assert len(result.frame) == 20_000 and list(result.frame.columns) == list(frame.columns)
    assert result.frame["sector"].tolist() == frame["sector"].tolist()
    assert result.frame["account_id"].tolist() == frame["account_id"].tolist()


# --------------------------------------------------------------------------------------------- XLSX
def _xlsx_with_sheet(sheet_xml_chunks, path: Path) -> Path:
    """An XLSX (openpyxl's own workbook parts) whose first sheet is the XML streamed from the chunks."""
    import openpyxl

    template = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active.title = "Bestand"
    workbook.save(template)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                                                              compresslevel=1) as target:
        for member in source.infolist():
            if member.filename == "xl/worksheets/sheet1.xml":
                with target.open(member.filename, "w", force_zip64=True) as sheet:
                    for chunk in sheet_xml_chunks:
                        sheet.write(chunk)
            else:
                target.writestr(member, source.read(member))
    return path


_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _digit_rows(rows: int, columns: int, dimension: str | None):
    """Sheet XML of ``rows`` x ``columns`` cells, each one random digit 0-4 (``<c><v>3</v></c>``)."""
    yield _HEAD + (f'<dimension ref="{dimension}"/>'.encode() if dimension else b"") + b"<sheetData>"
    cell = np.frombuffer(b"<c><v>0</v></c>", dtype=np.uint8)
    row = np.concatenate([np.frombuffer(b"<row>", np.uint8), np.tile(cell, columns),
                          np.frombuffer(b"</row>", np.uint8)])
    digits = 5 + 6 + np.arange(columns) * len(cell)
    rng = np.random.default_rng(50)
    block = 20_000
    for start in range(0, rows, block):
        n = min(block, rows - start)
        chunk = np.tile(row, (n, 1))
        chunk[:, digits] = rng.integers(48, 53, size=(n, columns), dtype=np.uint8)
        yield chunk.tobytes()
    yield b"</sheetData></worksheet>"


@pytest.fixture(scope="module")
def fifty_megabyte_xlsx(tmp_path_factory) -> Path:
    """About 50 MB on disk: 1,000,000 rows x 52 columns of digits (52 million cells, just over the
    cell budget), declared honestly in the sheet's dimension; under the ZIP checks (about 780 MB
    uncompressed, ratio about 16)."""
    path = tmp_path_factory.mktemp("xlsx") / "fifty.xlsx"
    return _xlsx_with_sheet(_digit_rows(1_000_000, 52, "A1:AZ1000000"), path)


def test_a_fifty_megabyte_xlsx_is_refused_within_the_budgets(fifty_megabyte_xlsx):
    size = fifty_megabyte_xlsx.stat().st_size
    assert 40 * 2**20 < size < 60 * 2**20
    report = _read_in_fresh_process(fifty_megabyte_xlsx)
    assert report["refused"] and "fifty.xlsx" in report["refused"]
    assert f"cell budget of {DEFAULT_BUDGET.max_cells:,}" in report["refused"]
    assert "52,000,000 cells" in report["refused"]
    assert report["peak_rss"] < PEAK_BOUND_BYTES and report["child_peak_rss"] < PEAK_BOUND_BYTES


def test_an_xlsx_without_a_dimension_is_counted_while_reading(tmp_path):
    # No <dimension>: nothing to check up front, so cells are counted while iterating (budget passed
    # explicitly to keep the test short: 2,000 rows x 20 columns against a budget of 10,000 cells).
    path = _xlsx_with_sheet(_digit_rows(2_000, 20, None), tmp_path / "undeclared.xlsx")
    with pytest.raises(PortfolioError, match=r"undeclared\.xlsx: sheet 'Bestand' holds more than the cell "
                                             r"budget of 10,000 cells") as caught:
        read_table(path, budget=ReadBudget(max_cells=10_000))
    assert "split it" in str(caught.value)


def test_an_xlsx_that_takes_longer_than_the_time_budget_is_refused(tmp_path):
    path = _xlsx_with_sheet(_digit_rows(200_000, 20, None), tmp_path / "slow.xlsx")
    # The child notices (its message names the sheet and the row); the parent's kill is the backstop.
    with pytest.raises(PortfolioError, match=r"slow\.xlsx: reading sheet 'Bestand' took longer than the time "
                                             r"budget of 0 s \(row 512\)"):
        read_table(path, budget=ReadBudget(seconds=0.01))


def test_an_ordinary_xlsx_without_a_dimension_is_still_read_in_full(tmp_path):
    rows = [b"<row><c t=\"inlineStr\"><is><t>account_id</t></is></c><c t=\"inlineStr\"><is><t>balance</t></is></c></row>"]
    rows += [f'<row><c t="inlineStr"><is><t>A{i:03d}</t></is></c><c><v>{i}.5</v></c></row>'.encode() for i in range(300)]
    path = _xlsx_with_sheet([_HEAD + b"<sheetData>", *rows, b"</sheetData></worksheet>"], tmp_path / "plain.xlsx")
    result = read_table(path)
    assert len(result.frame) == 300 and list(result.frame.columns) == ["account_id", "balance"]
    assert result.frame["balance"].iloc[-1] == 299.5


def test_a_huge_declared_dimension_is_refused_before_any_row_is_read(tmp_path):
    # One real cell, but a dimension of the whole sheet: openpyxl would yield 17 billion blank cells.
    chunks = [_HEAD + b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
              b"</sheetData></worksheet>"]
    path = _xlsx_with_sheet(chunks, tmp_path / "declared.xlsx")
    with pytest.raises(PortfolioError, match=r"declared\.xlsx: sheet 'Bestand' declares 1,048,576 rows x "
                                             r"16,384 columns .* refused before reading"):
        read_table(path)


def test_the_budgets_are_the_documented_ones():
    assert DEFAULT_BUDGET == ReadBudget(max_rows=5_000_000, max_uncompressed_bytes=2 * 2**30,
                                        max_string_chars=10_000, max_cells=50_000_000, seconds=120.0,
                                        memory_bytes=6 * 2**30)
    text = (REPO / "docs" / "security.md").read_text()
    for figure in ("5,000,000 rows", "2 GiB", "10,000 characters", "50,000,000 cells", "120 s", "6 GiB"):
        assert figure in text, figure
