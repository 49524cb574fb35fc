"""Hypothesis strategies for files and frames a user could upload (shared with tests/fuzz)."""
from __future__ import annotations

import functools
import io
import math

import pandas as pd
from hypothesis import strategies as st

from core.errors import UserError
from portfolio.load import Portfolio, load_portfolio
from portfolio.read import ReadResult, read_table
from portfolio_files import GERMAN_CSV, parquet_bytes, xlsx_bytes

COLUMN_NAMES = ["Kontonummer", "account_id", "Offener Betrag", "balance", "Verzugstage", "dpd", "E-Mail",
                "Alter", "paid_90d", "true_persona", "Branche", "PLZ", "", "x", "Saldo", "Saldo", "id"]
FILENAMES = ["f.csv", "f.xlsx", "f.parquet", "f.txt", "f.tsv", "f", "f.xls", "f.CSV", None]

_NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**12, 10**12).map(str),
    st.decimals(-10**7, 10**7, places=2, allow_nan=False).map(lambda d: f"{d:,}"),
    st.decimals(-10**7, 10**7, places=2, allow_nan=False).map(
        lambda d: f"{d:,}".replace(",", "_").replace(".", ",").replace("_", ".")),
    st.sampled_from(["1.234,56", "€ 1.234,56", "1.234,56 €", "12,50-", "(5)", "1e309", "-0", ",5", "1..2"]),
)
CELL_TEXT = st.one_of(
    _NUMBER_TEXT,
    st.text(max_size=10),
    st.sampled_from(["", "NaN", "inf", "-inf", "-", "n/a", "=cmd|' /C calc'!A0", '"', '""', "\n", "\r",
                     "000123", "DE89370400440532013000", "a@b.de", "+49 171 1234567", "01.01.1970"]),
)
CELL_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), CELL_TEXT,
    st.just(pd.NA), st.just(pd.NaT), st.datetimes(), st.timedeltas(),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@st.composite
def delimited_text(draw) -> bytes:
    """A CSV-like file: header of likely and unlikely names, rows of odd cells, some encoding."""
    delimiter = draw(st.sampled_from([";", ",", "\t", "|", " "]))
    width = draw(st.integers(1, 6))
    header = [draw(st.sampled_from(COLUMN_NAMES) | st.text(max_size=6)) for _ in range(width)]
    rows = [[draw(CELL_TEXT) for _ in range(draw(st.integers(max(width - 1, 0), width)))]
            for _ in range(draw(st.integers(0, 8)))]
    quote = draw(st.booleans())
    render = (lambda c: '"' + c.replace('"', '""') + '"') if quote else (lambda c: c)
    text = "\n".join(delimiter.join(render(c) for c in row) for row in [header, *rows])
    text += draw(st.sampled_from(["", "\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@st.composite
def small_frames(draw) -> pd.DataFrame:
    """A small frame with mixed-type object columns under likely and unlikely names."""
    n_rows = draw(st.integers(0, 8))
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES) | st.text(min_size=1, max_size=6), min_size=1,
                          max_size=6, unique=True))
    return pd.DataFrame({name: pd.Series([draw(CELL_VALUE) for _ in range(n_rows)], dtype=object)
                         for name in names})


@functools.cache
def _valid_files() -> dict[str, bytes]:
    # Built once: XLSX bytes carry a timestamp, and hypothesis needs the same input on replay.
    frame = pd.DataFrame({"Konto": ["A1", "A2", "A3"], "Saldo": [1.5, 2.0, 3.25], "Verzugstage": [1, 2, 3]})
    return {"csv": GERMAN_CSV.encode("cp1252"), "parquet": parquet_bytes(frame),
            "xlsx": xlsx_bytes({"S": [list(frame.columns), *frame.values.tolist()]})}


@st.composite
def damaged_files(draw) -> tuple[bytes, str]:
    """A valid CSV, XLSX or Parquet file with bytes cut, flipped or inserted."""
    kind = draw(st.sampled_from(["csv", "xlsx", "parquet"]))
    data = bytearray(_valid_files()[kind])
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["cut", "flip", "insert"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "cut":
            del data[position:]
        elif action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data), f"damaged.{kind}"


def arbitrary_bytes() -> st.SearchStrategy[bytes]:
    prefixes = st.sampled_from([b"", b"PK\x03\x04", b"PAR1", b"\xef\xbb\xbf", b"\xff\xfe", b"id;Saldo\n"])
    return st.tuples(prefixes, st.binary(max_size=3000)).map(lambda parts: parts[0] + parts[1])


def read_or_user_error(data: bytes, filename: str | None) -> ReadResult | None:
    """read_table ends in a result or a UserError; anything else propagates (a bug)."""
    try:
        result = read_table(data, filename=filename, max_bytes=1_000_000)
    except UserError as err:
        assert str(err).strip()
        return None
    assert isinstance(result.frame, pd.DataFrame)
    assert len(result.frame.columns) > 0
    return result


def load_or_user_error(source, filename: str | None = None) -> Portfolio | None:
    """load_portfolio ends in a portfolio whose rows all add up, or a UserError."""
    try:
        portfolio = load_portfolio(source, filename=filename, max_bytes=1_000_000)
    except UserError as err:
        assert str(err).strip()
        return None
    report = portfolio.report
    assert len(portfolio.frame) == report.n_rows_usable
    assert report.n_rows_usable + len(report.excluded_rows) == report.n_rows_read
    assert all(isinstance(line, str) and "\n" not in line for line in report.lines())
    if report.is_usable:
        assert portfolio.frame["account_id"].map(lambda v: isinstance(v, str) and v != "").all()
        assert portfolio.frame["account_id"].is_unique
        balance = portfolio.frame["balance"]
        assert balance.map(lambda v: math.isfinite(v) and v >= 0).all()
    return portfolio


def frame_as_file(frame: pd.DataFrame, kind: str) -> bytes | None:
    """The frame written as a CSV, XLSX or Parquet file (None when that format cannot hold it)."""
    if kind == "csv":
        return frame.to_csv(index=False, sep=";").encode("utf-8")
    buffer = io.BytesIO()
    try:
        if kind == "parquet":
            frame.astype("str").to_parquet(buffer, index=False)
        else:
            rows = [list(map(str, frame.columns))] + [["" if v is None else str(v)[:100] for v in row]
                                                      for row in frame.itertuples(index=False)]
            return xlsx_bytes({"S": rows})
    except Exception:  # e.g. control characters openpyxl refuses to write
        return None
    return buffer.getvalue()
