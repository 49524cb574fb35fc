"""Read a portfolio file (CSV, XLSX or Parquet; a path or bytes) into a raw DataFrame.

The format is recognised from the content (``PK`` ZIP header: XLSX, ``PAR1``: Parquet, otherwise
text) and must agree with the file extension. Limits protect the app from hostile files: a size cap
checked before reading, a column cap, a line-length cap for text, and ZIP/XML-bomb checks for XLSX;
XLSX and Parquet are parsed in a child process with a memory limit against the budgets of
:class:`portfolio.read_guard.ReadBudget` (rows, uncompressed bytes, string length, cells, seconds).

Blank rows are skipped, one- or two-cell title rows above the header are skipped with a note, and an
Excel ``sep=;`` first line sets the delimiter; each data row keeps its row number in the file.

Text numbers are converted per column when a clear majority of the column's cells are numbers
(German "1.234,56" and English "1,234.56" conventions, decided from the data); identifiers stay
text (columns named like ids, and any column with leading zeros such as "000123"). Yes/no columns
written as text (J/N, ja/nein, yes/no, true/false, wahr/falsch, x/blank) become booleans.
"""
from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from portfolio import read_binary, read_guard, read_text
from core.errors import Message, Number, PortfolioError
from core.i18n import N_
from portfolio.numbers import (
    NUMBER_MAJORITY, convention_evidence, has_leading_zeros, looks_numeric, missing_mask, parse_numbers,
    stripped_text,
)
from portfolio.flags import as_boolean, looks_like_flag
from portfolio.constants import DEFAULT_MAX_BYTES
from portfolio.read_guard import DEFAULT_BUDGET, ReadBudget
from portfolio.synonyms import looks_like_id_name

#: Tables wider than this are refused (a portfolio has tens of columns, not thousands).
MAX_COLUMNS = 1_000
#: Files with more data rows than this are refused (memory stays bounded).
MAX_ROWS = 5_000_000
#: Text lines longer than this (in bytes) are refused before parsing.
MAX_LINE_CHARS = 1 * 2**20

_EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv", ".dat": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet", ".parq": "parquet",
}
_FORMAT_NAMES = {"csv": N_("delimited text (CSV)"), "xlsx": N_("an Excel workbook (.xlsx)"),
                 "parquet": N_("a Parquet file")}
_BINARY_SIGNATURES = {
    b"\xd0\xcf\x11\xe0": N_("an old Excel 97-2003 (.xls) or other Office file; save it as .xlsx or CSV"),
    b"\x1f\x8b": N_("a gzip archive; unpack it first"),
    b"%PDF": N_("a PDF document, not a table"),
    b"Rar!": N_("a RAR archive; unpack it first"),
    b"7z\xbc\xaf": N_("a 7-Zip archive; unpack it first"),
    b"SQLite format 3": N_("an SQLite database; export the table as CSV"),
    b"\x89PNG": N_("a PNG image, not a table"),
    b"\xff\xd8\xff": N_("a JPEG image, not a table"),
}
_EMPTY = N_("{file}: the file is empty (no header, no data).")


@dataclass(frozen=True)
class ReadResult:
    """A file read into a frame, and how it was read.

    Attributes
    ----------
    frame
        One row per non-blank data row of the file (RangeIndex; ``row_numbers`` gives each row's
        number in the file). Numeric text is converted to float/int; everything else is text.
    source_name, file_format, encoding, delimiter, sha256
        File name, "csv" | "xlsx" | "parquet", text encoding and delimiter (text only), SHA-256 of the bytes.
    notes
        Things the user should know (mixed encodings, formulas kept as text, skipped columns).
    unparsed
        Column -> {row position: original text} for cells of converted numeric columns that are not
        numbers; the validator reports them and excludes those rows when the column is required.
    skipped_columns
        Columns not read at all (e.g. nested Parquet columns), with the reason.
    number_conventions
        Column -> "de" or "en" for columns converted from text.
    suspect_rows
        Row position -> reason for rows that cannot be trusted as a whole (e.g. the last row of a
        file cut off in the middle of that row); the validator excludes them.
    row_numbers
        File row number of each frame row as the file shows it (blank lines and rows above the
        header counted); ``None`` means position + 2.
    """

    frame: pd.DataFrame
    source_name: str
    file_format: str
    encoding: str | None
    delimiter: str | None
    sha256: str
    notes: tuple[str, ...] = ()
    unparsed: dict[str, dict[int, str]] = field(default_factory=dict)
    skipped_columns: dict[str, str] = field(default_factory=dict)
    number_conventions: dict[str, str] = field(default_factory=dict)
    suspect_rows: dict[int, str] = field(default_factory=dict)
    row_numbers: np.ndarray | None = None


def read_table(source: str | os.PathLike | bytes | BinaryIO, *, filename: str | None = None,
               sheet: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
               max_columns: int = MAX_COLUMNS, max_line_chars: int = MAX_LINE_CHARS,
               budget: ReadBudget = DEFAULT_BUDGET) -> ReadResult:
    """Read a CSV, XLSX or Parquet portfolio file.

    Parameters
    ----------
    source
        Path, bytes, or a binary file object (e.g. a Streamlit upload).
    filename
        Name shown in messages and used for the extension check (defaults to the path's name).
    sheet
        XLSX sheet name; the first sheet when ``None``.
    max_bytes
        Size cap in bytes, checked before reading (default 200 MB).
    max_columns, max_line_chars
        Structure caps that refuse hostile or broken files quickly.
    budget
        What parsing an XLSX or Parquet file may cost (rows, uncompressed bytes, string length,
        cells, seconds, memory; :class:`portfolio.read_guard.ReadBudget`). Those formats are parsed
        in a child process with a memory limit, so a decompression bomb ends only the child.

    Raises
    ------
    PortfolioError
        For every file that cannot be read, with a message naming the file and what to do.
    """
    data, name = _load_bytes(source, filename, max_bytes)
    if not data[:65_536].strip() and not data.strip():
        raise PortfolioError(Message(N_("{file}: the file is empty."), file=name))
    file_format = _detect_format(data, name)
    sha256 = hashlib.sha256(data).hexdigest()
    if file_format == "csv":
        return _read_csv(data, name, sha256, max_columns, max_line_chars)
    if file_format == "xlsx":
        read_binary.check_zip(data, name)  # cheap, and refused before a child is started
        sheet_data = read_guard.run("xlsx", data, name, sheet=sheet, max_columns=max_columns, budget=budget)
        frame, notes, row_numbers = _apply_header(sheet_data.frame, name, np.asarray(sheet_data.row_numbers))
    else:
        sheet_data = read_guard.run("parquet", data, name, sheet=None, max_columns=max_columns, budget=budget)
        frame, notes, row_numbers = sheet_data.frame, [], None
        if frame.empty:
            raise PortfolioError(Message(N_("{file}: the Parquet file has columns but no data rows."), file=name))
    frame, unparsed, conventions = _convert_columns(frame, default="en")
    return ReadResult(frame, name, file_format, None, None, sha256, tuple(sheet_data.notes + notes),
                      unparsed, dict(sheet_data.skipped), conventions, {}, row_numbers)


def _load_bytes(source, filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    cap = Number(max_bytes / 2**20, 0)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = filename or "uploaded file"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = filename or path.name
        if not path.is_file():
            raise PortfolioError(Message(N_("{file}: file not found ({path})."), file=name, path=str(path)))
        size = path.stat().st_size
        if size > max_bytes:
            raise PortfolioError(Message(N_(
                "{file}: the file is {size} MB, over the {cap} MB limit; raise the limit with --max-mb (command "
                "line) or max_bytes=..., or split the file."), file=name, size=Number(size / 2**20, 1), cap=cap))
        data = path.read_bytes()
    elif hasattr(source, "read"):
        name = filename or getattr(source, "name", None) or "uploaded file"
        data = source.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise PortfolioError(Message(N_("cannot read a {kind}; give a file path or bytes."),
                                     kind=type(source).__name__))
    if len(data) > max_bytes:
        if hasattr(source, "read"):
            text = N_("{file}: the file is over the {cap} MB limit ({size} MB or more); raise the limit with "
                      "--max-mb (command line) or max_bytes=..., or split the file.")
        else:
            text = N_("{file}: the file is over the {cap} MB limit ({size} MB); raise the limit with --max-mb "
                      "(command line) or max_bytes=..., or split the file.")
        raise PortfolioError(Message(text, file=name, cap=cap, size=Number(len(data) / 2**20, 1)))
    return data, str(name)


def _detect_format(data: bytes, name: str) -> str:
    """Format from the content, checked against the file extension."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        actual = "xlsx"
    elif data.startswith(b"PAR1"):
        actual = "parquet"
    else:
        for signature, what in _BINARY_SIGNATURES.items():
            if data.startswith(signature):
                raise PortfolioError(Message(N_("{file}: is {what}."), file=name, what=Message(what)))
        head = data[:8192]
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise PortfolioError(Message(N_("{file}: contains binary data, not text; it is not a CSV, XLSX or "
                                            "Parquet file."), file=name))
        actual = "csv"
    extension = Path(name).suffix.lower()
    if extension == ".xls":
        raise PortfolioError(Message(N_("{file}: old Excel (.xls) files are not supported; save it as .xlsx or CSV."),
                                     file=name))
    expected = _EXTENSIONS.get(extension)
    if expected and expected != actual:
        looks = N_("a ZIP archive") if actual == "xlsx" and b"xl/" not in data[:4096] else _FORMAT_NAMES[actual]
        raise PortfolioError(Message(N_("{file}: the name says {expected} but the content looks like {looks}. "
                                        "Rename the file to match its content or export it again."), file=name,
                                     expected=Message(_FORMAT_NAMES[expected]), looks=Message(looks)))
    return actual


def _read_csv(data: bytes, name: str, sha256: str, max_columns: int, max_line_chars: int) -> ReadResult:
    breaks = read_text.check_line_lengths(data, name, max_line_chars)
    if breaks > 2 * MAX_ROWS:  # CRLF counts twice; the exact count follows after parsing
        raise PortfolioError(Message(N_("{file}: has about {n} lines, more than the {limit} rows a portfolio "
                                        "may have; split the file."), file=name, n=breaks, limit=MAX_ROWS))
    decoded = read_text.decode(data, name)
    text, named_delimiter = read_text.split_sep_line(decoded.text)
    delimiter = named_delimiter or read_text.sniff_delimiter(text)
    width = read_text.count_header_fields(text, delimiter)
    if width > max_columns:
        raise PortfolioError(Message(N_("{file}: the header has {n} columns (the limit is {limit}); this is not a "
                                        "portfolio table. Check the delimiter and the export."), file=name,
                                     n=width, limit=max_columns))
    raw = read_text.parse_delimited(text, delimiter, name, max_columns)
    if len(raw) > MAX_ROWS + 1:
        raise PortfolioError(Message(N_("{file}: has {n} rows, more than the {limit} a portfolio may have; "
                                        "split the file."), file=name, n=len(raw) - 1, limit=MAX_ROWS))
    first_line = 2 if named_delimiter else 1
    frame, header_notes, row_numbers = _apply_header(raw, name, np.arange(len(raw)) + first_line)
    frame = _stripped(frame)
    frame, unparsed, conventions = _convert_columns(frame, default="de" if delimiter == ";" else "en")
    notes = decoded.notes + read_text.mojibake_note(text, name, decoded.encoding) + tuple(header_notes)
    suspect = {}
    if read_text.truncated_last_line(text, delimiter, width):
        suspect[len(frame) - 1] = Message(N_("the file ends in the middle of this row (truncated?)"))
    return ReadResult(frame, name, "csv", decoded.encoding, delimiter, sha256, notes, unparsed, {},
                      conventions, suspect, row_numbers)


def _stripped(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell without surrounding spaces (the parser gives text columns only). Built column by
    column: ``frame.apply`` costs ~0.3 s more at 100,000 rows x 42 columns to put the frame together."""
    return pd.DataFrame({column: _strip_column(frame[column]) for column in frame.columns}, index=frame.index) \
        if len(frame.columns) else frame


def _strip_column(values: pd.Series) -> pd.Series:
    """The column stripped, or the column itself when no cell has spaces around it (most exports): no
    second copy of every text column is kept (fresh memory is what the reader spends most time on)."""
    stripped = values.str.strip()
    return values if stripped.str.len().sum() == values.str.len().sum() else stripped


def _apply_header(raw: pd.DataFrame, name: str, numbers: np.ndarray) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Find the header row, name the columns and drop blank rows.

    Blank header names become ``column_<n>``, repeated names get ``_2``, ``_3``. Rows above the
    header (titles) are skipped with a note. Returns the frame, notes, and each data row's file row
    number (``numbers`` gives the file row number of each raw row).
    """
    if raw.shape[0] == 0 or raw.shape[1] == 0:
        raise PortfolioError(Message(_EMPTY, file=name))
    blank = _blank_rows(raw)
    raw, numbers = raw[~blank], np.asarray(numbers)[~blank]
    if raw.shape[0] == 0:
        raise PortfolioError(Message(_EMPTY, file=name))
    notes: list[str] = []
    start = read_text.find_header_row(raw)
    if start:
        titles = [str(v) for v in raw.iloc[:start].to_numpy().ravel() if pd.notna(v) and str(v).strip()]
        notes.append(Message(N_("{file}: rows {first}-{last} above the header were skipped ({titles})."), file=name,
                             first=str(numbers[0]), last=str(numbers[start - 1]),
                             titles="; ".join(t[:40] for t in titles[:3])))
    header = ["" if pd.isna(v) else str(v).strip().lstrip("\ufeff") for v in raw.iloc[start].tolist()]
    if raw.shape[0] == start + 1:
        shown = ", ".join(h for h in header[:8] if h) + (" ..." if len(header) > 8 else "")
        raise PortfolioError(Message(N_("{file}: has a header row ({header}) but no data rows."), file=name,
                                     header=shown))
    names: list[str] = []
    seen: set[str] = set()
    for position, label in enumerate(header, start=1):
        if not label:
            label = f"column_{position}"
            notes.append(Message(N_("{file}: column {position} has no name; it is called '{label}'."), file=name,
                                 position=str(position), label=label))
        unique, k = label, 2
        while unique in seen:
            unique, k = f"{label}_{k}", k + 1
        if unique != label:
            notes.append(Message(N_("{file}: column name '{label}' appears more than once; column {position} is "
                                    "called '{unique}'."), file=name, label=label, position=str(position),
                                 unique=unique))
        seen.add(unique)
        names.append(unique)
    frame = raw.iloc[start + 1:].reset_index(drop=True)
    frame.columns = names
    return frame, notes, numbers[start + 1:]


def _blank_rows(raw: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty or blank.

    Looked at column by column, and only among the rows still blank so far: the first column rules
    out nearly every row, so the other columns are not stripped cell by cell at all."""
    blank = np.ones(len(raw), dtype=bool)
    for position in range(raw.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        cells = raw.iloc[rows, position]
        blank[rows] = (cells.isna() | (cells.astype("str").str.strip() == "")).to_numpy(dtype=bool)
    return blank


def _convert_columns(frame: pd.DataFrame, default: str) -> tuple[pd.DataFrame, dict, dict]:
    """Convert text columns holding numbers; keep identifiers and codes as text."""
    texts = {c: frame[c] for c in frame.columns if _is_text(frame[c])}
    evidence = {c: convention_evidence(col) for c, col in texts.items()}
    german, english = sum(e[0] for e in evidence.values()), sum(e[1] for e in evidence.values())
    default = "de" if german > english else "en" if english > german else default
    # Each column follows its own unambiguous cells, else the file's majority.
    column_conventions = {c: "de" if g > e else "en" if e > g else default for c, (g, e) in evidence.items()}
    changed: dict[str, pd.Series] = {}
    unparsed: dict[str, dict[int, str]] = {}
    conventions: dict[str, str] = {}
    for column in frame.columns:
        source = values = frame[column]
        if column in texts:
            values = _convert_text(column, values, column_conventions[column], unparsed, conventions)
        elif looks_like_id_name(column) and pd.api.types.is_numeric_dtype(values) \
                and not pd.api.types.is_bool_dtype(values):
            values = _numbers_as_text(values)
        values = _finish_object_column(values)
        if values is not source:
            changed[column] = values
    return _with_columns(frame, changed), unparsed, conventions


def _with_columns(frame: pd.DataFrame, changed: dict[str, pd.Series]) -> pd.DataFrame:
    """``frame`` with the ``changed`` columns replaced; the others keep their arrays. A frame built
    anew from every column copies all numeric columns into one block again (~200 MB of fresh memory,
    1-2 s, at 1,000,000 rows)."""
    result = frame.copy(deep=False)
    for column, values in changed.items():
        result[column] = values
    return result


def _is_text(values: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(values):
        return True
    if values.dtype != object:
        return False
    kinds = {type(v) for v in values.dropna().head(1000)}
    return bool(kinds) and kinds <= {str, int, float}


#: What ``astype("str")`` gives: the reader's text columns (Arrow storage, NaN for missing).
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def _convert_text(column: str, values: pd.Series, convention: str, unparsed: dict, conventions: dict) -> pd.Series:
    # Spreadsheet cells may already be numbers; only their text cells need parsing.
    mixed = values.dtype == object
    is_number = values.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).astype(bool) \
        if mixed else pd.Series(False, index=values.index)
    any_number = bool(is_number.any())
    text = values.where(~is_number).map(lambda v: v if v is None or isinstance(v, str) else None) \
        if mixed else values
    if text.dtype != _TEXT:  # a text column as the reader makes it is left as it is: no copy of it is kept
        text = text.astype("str").where(text.notna())
    stripped = stripped_text(text)
    missing = missing_mask(text, stripped)
    if missing.any():
        text = text.where(~missing)

    def as_text() -> pd.Series:
        return _numbers_as_text(values.where(is_number)).where(is_number, text) if any_number else text

    if looks_like_id_name(column) or has_leading_zeros(text, stripped):  # no "no value" word starts with 0
        return as_text()
    cell_numbers = pd.to_numeric(values.where(is_number), errors="coerce").astype("float64") if any_number else None
    if text.isna().all():
        if not any_number:
            return text
        return _maybe_int(cell_numbers, values.map(lambda v: isinstance(v, float)).any())
    if not any_number and not looks_numeric(text, convention):
        return text
    parsed = parse_numbers(text, convention=convention, missing=missing)
    n_numbers = int(is_number.sum()) + parsed.n_parsed
    if n_numbers < NUMBER_MAJORITY * (parsed.n_filled + int(is_number.sum())):
        return as_text()
    conventions[column] = parsed.convention
    if len(parsed.unparsed):
        unparsed[column] = {int(k): str(v) for k, v in parsed.unparsed.items()}
    numbers = parsed.values.where(~is_number, cell_numbers) if any_number else parsed.values
    decimals = bool(text.str.contains(r"[.,]\d", regex=True).fillna(False).any())
    if any_number:
        decimals = decimals or bool((is_number & values.map(lambda v: isinstance(v, float))).any())
    return _maybe_int(numbers.astype("float64"), decimals)


def _maybe_int(numbers: pd.Series, has_decimals: bool) -> pd.Series:
    """Whole numbers without gaps become int64 (e.g. days past due); everything else stays float."""
    if not has_decimals and numbers.notna().all() and numbers.abs().lt(2**53).all() \
            and (numbers == numbers.round()).all():
        return numbers.astype("int64")
    return numbers


def _finish_object_column(values: pd.Series) -> pd.Series:
    """Spreadsheet columns of only booleans or only dates get a proper dtype; so do yes/no columns
    written as text (J/N, ja/nein, yes/no, true/false, wahr/falsch, x/blank: see :mod:`portfolio.flags`)."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)) or not values.notna().any():
        return values
    # A text column (str dtype) holds no booleans or dates: only spreadsheet (object) cells are looked
    # at one by one, and only when the first one could start such a column (100,000 rows x 15 text
    # columns: ~1.5 million Python calls saved).
    cells = values.dropna() if values.dtype == object else None
    if cells is not None and _all_cells(cells, bool):
        return values.astype("boolean") if values.isna().any() else values.astype(bool)
    if looks_like_flag(values):
        flags = as_boolean(values)
        return flags if flags.isna().any() else flags.astype(bool)
    if cells is None:
        return values
    if _all_cells(cells, (pd.Timestamp, datetime.datetime, datetime.date)):
        return pd.to_datetime(values, errors="coerce")
    return values.map(lambda v: v if v is None or isinstance(v, str) else str(v)).astype("str").where(values.notna())


def _all_cells(cells: pd.Series, kinds: type | tuple[type, ...]) -> bool:
    """Every cell is an instance of ``kinds`` (the first cell decides quickly when it is not)."""
    return isinstance(cells.iloc[0], kinds) and bool(cells.map(lambda v: isinstance(v, kinds)).all())


def _numbers_as_text(values: pd.Series) -> pd.Series:
    return values.map(_format_number).astype("str").where(values.notna())


def _format_number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
