"""Excel (.xlsx) and Parquet files, with guards against hostile archives and unusable column types.

* XLSX: the ZIP directory is checked before anything is decompressed (total uncompressed size,
  compression ratio, number of members); openpyxl parses the XML through defusedxml, so entity
  declarations ("billion laughs") are refused; formulas are kept as their text and never evaluated.
* XLSX: the sheet's declared dimension (rows x columns, from its XML) is checked against the cell
  budget before any row is read; cells are counted and the time is checked while iterating.
* Parquet: the metadata (row count, declared uncompressed size, column types) is checked before
  anything is decompressed; the data is then read row group by row group with string columns kept
  dictionary-encoded, and each row group's longest string and decoded size are checked against the
  budget before it is expanded.
* Parquet: nested (list, struct, map, union) and binary columns are left out; each is reported
  with the reason in ``skipped`` so nothing disappears silently.

Both run in a child process with a memory limit when called through :func:`portfolio.read.read_table`
(:mod:`portfolio.read_guard`); the budgets are :class:`portfolio.read_guard.ReadBudget`.
"""
from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.errors import Message, Number, PortfolioError
from core.i18n import N_
from portfolio.read_guard import DEFAULT_BUDGET, ReadBudget

if TYPE_CHECKING:  # pandas is imported where a frame is built: the Parquet parser child never needs it
    import pandas as pd

#: Refuse an XLSX whose members add up to more than this many bytes once decompressed.
MAX_XLSX_UNCOMPRESSED = 1 * 2**30
#: Refuse an XLSX member that decompresses to more than this many times its stored size
#: (and to more than 10 MB); ordinary sheets compress 5-30 times.
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_MEMBERS = 10_000
#: Parquet compresses well: limits on what the file expands to (ReadBudget holds them all).
MAX_PARQUET_ROWS = DEFAULT_BUDGET.max_rows
MAX_PARQUET_BYTES = DEFAULT_BUDGET.max_uncompressed_bytes
_SPLIT = Message(N_("Export the portfolio again as CSV, or split it into smaller files."))


@dataclass
class SheetData:
    """Rows of a sheet or columns of a Parquet file, before header handling."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    row_numbers: list[int] = field(default_factory=list)  #: sheet row number of each row of ``frame``


def check_zip(data: bytes, name: str, max_uncompressed: int = MAX_XLSX_UNCOMPRESSED) -> None:
    """Refuse damaged archives and ZIP bombs before decompressing anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise PortfolioError(Message(N_("{file}: is not a readable Excel file (the ZIP container is damaged or "
                                        "truncated). Open it in Excel and save it again as .xlsx."),
                                     file=name)) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise PortfolioError(Message(N_("{file}: the Excel file has {n} parts (limit {limit}); refused."), file=name,
                                     n=len(members), limit=MAX_ZIP_MEMBERS))
    total = sum(m.file_size for m in members)
    if total > max_uncompressed:
        raise PortfolioError(Message(N_(
            "{file}: the Excel file would expand to {mb} MB (limit {limit} MB); refused as a possible ZIP bomb. "
            "Export the sheet as CSV."), file=name, mb=Number(total / 2**20, 0),
            limit=Number(max_uncompressed / 2**20, 0)))
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > MAX_COMPRESSION_RATIO and member.file_size > 10 * 2**20:
            raise PortfolioError(Message(N_(
                "{file}: part '{part}' expands {ratio} times (limit {limit}); refused as a possible ZIP bomb."),
                file=name, part=member.filename, ratio=Number(ratio, 0), limit=str(MAX_COMPRESSION_RATIO)))
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise PortfolioError(Message(N_("{file}: is a ZIP archive but not an Excel workbook (no xl/workbook.xml)."),
                                     file=name))


def read_xlsx(data: bytes, name: str, sheet: str | None, max_columns: int,
              budget: ReadBudget = DEFAULT_BUDGET) -> SheetData:
    """Rows of one sheet (first unless ``sheet`` names one) as an object frame, header in row 0.

    This parses in the calling process; :func:`portfolio.read.read_table` calls it in a child
    process with a memory limit (:mod:`portfolio.read_guard`)."""
    import openpyxl
    from defusedxml import DefusedXmlException

    if not openpyxl.DEFUSEDXML:
        raise PortfolioError(Message(N_("{file}: Excel files are refused because defusedxml is not active "
                                        "(install defusedxml and unset OPENPYXL_DEFUSEDXML)."), file=name))
    check_zip(data, name)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as err:  # openpyxl raises many types for damaged files, and wraps defusedxml's
        if _caused_by(err, DefusedXmlException):
            raise PortfolioError(Message(N_("{file}: the Excel file declares XML entities (an 'XML bomb' pattern); "
                                            "refused. Save the sheet again from Excel or export it as CSV."),
                                         file=name)) from None
        raise PortfolioError(Message(N_("{file}: could not be opened as an Excel workbook ({detail})."), file=name,
                                     detail=_short(err))) from None
    try:
        return _read_sheet(workbook, name, sheet, max_columns, budget)
    finally:
        workbook.close()


def _read_sheet(workbook, name: str, sheet: str | None, max_columns: int, budget: ReadBudget) -> SheetData:
    from defusedxml import DefusedXmlException

    started = time.monotonic()

    if sheet is not None and sheet not in workbook.sheetnames:
        raise PortfolioError(Message(N_("{file}: has no sheet '{sheet}'; its sheets are: {sheets}."), file=name,
                                     sheet=sheet, sheets=", ".join(repr(s) for s in workbook.sheetnames)))
    if not workbook.sheetnames:
        raise PortfolioError(Message(N_("{file}: the workbook has no sheets."), file=name))
    worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
    _check_dimension(worksheet, name, budget)
    rows: list[tuple] = []
    cells = 0
    width = 0
    formulas = 0
    try:
        numbers: list[int] = []
        for number, row in enumerate(worksheet.iter_rows(values_only=True), start=worksheet.min_row or 1):
            cells += len(row)
            if cells > budget.max_cells:
                raise PortfolioError(Message(N_("{file}: sheet '{sheet}' holds more than the cell budget of {cells} "
                                                "cells (rows x columns); refused. {what_to_do}"), file=name,
                                             sheet=worksheet.title, cells=budget.max_cells, what_to_do=_SPLIT))
            if not number % 512 and time.monotonic() - started > budget.seconds:
                raise PortfolioError(Message(N_("{file}: reading sheet '{sheet}' took longer than the time budget "
                                                "of {seconds} s (row {row}); refused. {what_to_do}"), file=name,
                                             sheet=worksheet.title, seconds=Number(budget.seconds, 0), row=number,
                                             what_to_do=_SPLIT))
            if len(row) > max_columns and any(v is not None for v in row[max_columns:]):
                raise PortfolioError(Message(N_("{file}: sheet '{sheet}' has more than {limit} columns; this is not "
                                                "a portfolio table."), file=name, sheet=worksheet.title,
                                             limit=max_columns))
            row = row[:max_columns]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            formulas += sum(isinstance(v, str) and v.startswith("=") for v in row)
            width = max(width, len(row))
            rows.append(row)
            numbers.append(number)
    except PortfolioError:
        raise
    except Exception as err:
        if _caused_by(err, DefusedXmlException):
            raise PortfolioError(Message(N_("{file}: the sheet declares XML entities (an 'XML bomb' pattern); "
                                            "refused."), file=name)) from None
        raise PortfolioError(Message(N_("{file}: sheet '{sheet}' could not be read ({detail})."), file=name,
                                     sheet=worksheet.title, detail=_short(err))) from None
    if not rows:
        others = [s for s in workbook.sheetnames if s != worksheet.title]
        if others:
            raise PortfolioError(Message(N_("{file}: sheet '{sheet}' is empty; other sheets: {others} (choose one "
                                            "with --sheet)."), file=name, sheet=worksheet.title,
                                         others=", ".join(map(repr, others))))
        raise PortfolioError(Message(N_("{file}: sheet '{sheet}' is empty."), file=name, sheet=worksheet.title))
    notes = []
    if formulas:
        notes.append(Message(N_("{file}: {n} cells hold formulas; they are kept as text and never evaluated. Save "
                                "the sheet with values only to use the computed results."), file=name, n=formulas))
    import pandas as pd

    padded = [tuple(r) + (None,) * (width - len(r)) for r in rows]
    frame = pd.DataFrame(padded, dtype=object)
    return SheetData(frame=_drop_empty_trailing_columns(frame), notes=notes, row_numbers=numbers)


#: How much of a sheet's XML is searched for its ``<dimension>`` (it comes before ``<sheetData>``).
DIMENSION_SEARCH_BYTES = 1 * 2**20


def install_bounded_dimension_reader() -> None:
    """Make openpyxl's read-only sheets look for ``<dimension>`` only in the XML before ``<sheetData>``
    (at most :data:`DIMENSION_SEARCH_BYTES`).

    openpyxl parses the *whole* sheet while it opens a workbook when the sheet declares no
    dimension (``parse_dimensions`` stops at the end of ``sheetData``), so a large sheet without one
    costs a full parse before the first row is read and before any budget can be checked. Only the
    parser child (:mod:`portfolio.read_guard`) installs this: it changes openpyxl for its process.
    """
    import re

    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    pattern = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref\s*=\s*["\']([^"\']+)["\']')
    data_start = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData\b")

    def _get_size(self) -> None:
        source = self._get_source()
        try:
            head = b""
            while len(head) < DIMENSION_SEARCH_BYTES:
                chunk = source.read(65_536)
                if not chunk:
                    break
                head += chunk
                if data_start.search(head):
                    break
        finally:
            source.close()
        found = data_start.search(head)
        match = pattern.search(head[:found.start()] if found else head)
        if match:
            try:
                bounds = range_boundaries(match.group(1).decode("ascii", "replace"))
            except ValueError:
                return
            if None not in bounds:
                self._min_column, self._min_row, self._max_column, self._max_row = bounds

    ReadOnlyWorksheet._get_size = _get_size


def _check_dimension(worksheet, name: str, budget: ReadBudget) -> None:
    """Refuse a sheet whose declared dimension (``<dimension ref="A1:XFD1048576"/>``, read from the
    XML before any row) exceeds the cell budget: openpyxl would produce every one of those cells,
    blank or not."""
    max_row, max_column = getattr(worksheet, "max_row", None), getattr(worksheet, "max_column", None)
    if not max_row or not max_column:
        return  # no dimension declared: the cells are counted while reading
    min_row, min_column = worksheet.min_row or 1, worksheet.min_column or 1
    declared = max(max_row - min_row + 1, 0) * max(max_column - min_column + 1, 0)
    if declared > budget.max_cells:
        raise PortfolioError(Message(N_("{file}: sheet '{sheet}' declares {rows} rows x {columns} columns = {cells} "
                                        "cells, more than the cell budget of {budget}; refused before reading. "
                                        "{what_to_do}"), file=name, sheet=worksheet.title,
                                     rows=max_row - min_row + 1, columns=max_column - min_column + 1,
                                     cells=declared, budget=budget.max_cells, what_to_do=_SPLIT))


def _drop_empty_trailing_columns(frame: pd.DataFrame) -> pd.DataFrame:
    keep = frame.shape[1]
    while keep > 0 and frame.iloc[:, keep - 1].isna().all():
        keep -= 1
    return frame.iloc[:, :keep]


def read_parquet(data: bytes, name: str, max_columns: int, budget: ReadBudget = DEFAULT_BUDGET) -> SheetData:
    """Columns of a Parquet file; nested and binary columns are skipped with a reason.

    This parses in the calling process; :func:`portfolio.read.read_table` calls
    :func:`scan_parquet` in a child process with a memory limit (:mod:`portfolio.read_guard`)."""
    table, notes, skipped = scan_parquet(data, name, max_columns, budget)
    return SheetData(frame=parquet_frame(table, name), notes=notes, skipped=skipped)


def scan_parquet(data: bytes, name: str, max_columns: int, budget: ReadBudget = DEFAULT_BUDGET):
    """The readable columns of a Parquet file as an Arrow table, read against ``budget``.

    Before decompressing: the row count, the declared uncompressed size (the larger of each row
    group's total and the sum of its column chunks) and the column types. Then row group by row
    group, string columns dictionary-encoded: the longest string and the size the strings expand to
    are checked before anything is expanded. Returns ``(table, notes, skipped)``.
    """
    import pyarrow as pa

    try:
        parquet = _open_parquet(data, None)
        schema = parquet.schema_arrow
        metadata = parquet.metadata
        rows = metadata.num_rows
        declared = 0
        for i in range(metadata.num_row_groups):
            group = metadata.row_group(i)
            chunks = sum(max(group.column(j).total_uncompressed_size, 0) for j in range(group.num_columns))
            declared += max(group.total_byte_size, chunks, 0)
    except PortfolioError:
        raise
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... for damaged files
        raise PortfolioError(Message(N_("{file}: is not a readable Parquet file (damaged or truncated: {detail})."),
                                     file=name, detail=_short(err))) from None
    if rows > budget.max_rows or declared > budget.max_uncompressed_bytes:
        raise PortfolioError(Message(N_("{file}: holds {rows} rows ({mb} MB uncompressed), more than the budget of "
                                        "{max_rows} rows / {max_mb} MB uncompressed a portfolio may have; refused "
                                        "before decompressing. {what_to_do}"), file=name, rows=rows,
                                     mb=Number(declared / 2**20, 0), max_rows=budget.max_rows,
                                     max_mb=Number(budget.max_uncompressed_bytes / 2**20, 0), what_to_do=_SPLIT))
    if len(schema.names) > max_columns:
        raise PortfolioError(Message(N_("{file}: has {n} columns (the limit is {limit})."), file=name,
                                     n=len(schema.names), limit=max_columns))
    skipped: dict[str, str] = {}
    keep: list[str] = []
    for fld in schema:
        reason = _unusable_type(fld.type, pa)
        if reason:
            skipped[fld.name] = f"not read: {reason} column ({fld.type}); flatten it into plain columns to use it"
        else:
            keep.append(fld.name)
    if len(set(keep)) != len(keep):
        raise PortfolioError(Message(N_("{file}: has duplicate column names; rename them and save again."),
                                     file=name))
    if not keep:
        raise PortfolioError(Message(N_("{file}: none of its columns can be read ({columns})."), file=name,
                                     columns="; ".join(f"'{k}': {v}" for k, v in skipped.items())))
    if rows * len(keep) > budget.max_cells:
        raise PortfolioError(Message(N_("{file}: holds {rows} rows x {columns} columns = {cells} cells, more than the "
                                        "cell budget of {budget}; refused before decompressing. {what_to_do}"),
                                     file=name, rows=rows, columns=len(keep), cells=rows * len(keep),
                                     budget=budget.max_cells, what_to_do=_SPLIT))
    texts = [f.name for f in schema if f.name in keep and _is_string(f.type, pa)]
    as_dictionary = {f.name for f in schema if f.name in keep and pa.types.is_dictionary(f.type)}
    try:
        table = _read_row_groups(data, name, keep, texts, as_dictionary, budget)
    except (PortfolioError, MemoryError):
        raise
    except Exception as err:
        if _out_of_memory(err):
            raise MemoryError(str(err)) from None
        raise PortfolioError(Message(N_("{file}: the Parquet data could not be read ({detail})."), file=name,
                                     detail=_short(err))) from None
    notes = [f"{name}: column '{c}' {r}." for c, r in skipped.items()]
    return table, notes, skipped


def _open_parquet(data: bytes, read_dictionary: list[str] | None):
    import pyarrow.parquet as pq

    return pq.ParquetFile(io.BytesIO(data), read_dictionary=read_dictionary)


def _is_string(arrow_type, pa) -> bool:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) \
        or getattr(pa.types, "is_string_view", lambda t: False)(arrow_type)


def _read_row_groups(data: bytes, name: str, keep: list[str], texts: list[str], as_dictionary: set[str],
                     budget: ReadBudget):
    """Row group by row group, strings kept dictionary-encoded until their expanded size is known."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parquet = _open_parquet(data, texts)
    decoded = 0
    rows = 0
    tables = []
    for i in range(parquet.metadata.num_row_groups):
        group = parquet.read_row_group(i, columns=keep, use_threads=False)
        rows += group.num_rows
        if rows > budget.max_rows:
            raise PortfolioError(Message(N_("{file}: holds more than the budget of {max_rows} rows (counted while "
                                            "reading; the file's metadata said fewer); refused. {what_to_do}"),
                                         file=name, max_rows=budget.max_rows, what_to_do=_SPLIT))
        columns = []
        for column_name, column in zip(group.column_names, group.columns):
            if column_name not in texts:
                decoded += column.nbytes
                columns.append(column)
                continue
            for chunk in column.chunks:
                if pa.types.is_dictionary(chunk.type):
                    values, indices = chunk.dictionary, chunk.indices
                    lengths = pc.binary_length(values)
                    expanded = (pc.sum(pc.take(lengths, indices)).as_py() or 0) if len(values) else 0
                    decoded += expanded + indices.nbytes
                else:
                    values = chunk
                    decoded += chunk.nbytes
                longest = pc.max(pc.utf8_length(values)).as_py() if len(values) else 0
                if longest and longest > budget.max_string_chars:
                    raise PortfolioError(Message(N_(
                        "{file}: column '{column}' holds a text of {n} characters, more than the string budget of "
                        "{limit}; refused before expanding it. A portfolio cell is never that long: check the export, "
                        "or drop that column."), file=name, column=column_name, n=int(longest),
                        limit=budget.max_string_chars))
            if decoded > budget.max_uncompressed_bytes:
                break
            undo = pa.types.is_dictionary(column.type) and column_name not in as_dictionary
            columns.append(column.cast(_expanded_type(column.type.value_type, pa)) if undo else column)
        if decoded > budget.max_uncompressed_bytes:
            raise PortfolioError(Message(N_(
                "{file}: expands to more than the budget of {mb} MB of data (counted row group by row group before "
                "expanding; the file's metadata declared less); refused as a possible decompression bomb. "
                "{what_to_do}"), file=name, mb=Number(budget.max_uncompressed_bytes / 2**20, 0), what_to_do=_SPLIT))
        tables.append(pa.Table.from_arrays(columns, names=group.column_names))
    if not tables:
        return parquet.schema_arrow.empty_table().select(keep)
    table = pa.concat_tables(tables)
    return table.unify_dictionaries() if as_dictionary else table


def _expanded_type(value_type, pa):
    """The type a dictionary-encoded column is expanded to: text as ``large_string``, the type pandas
    keeps its text columns in, so the reading process does not copy every text column once more
    (~1 s at 1,000,000 rows; in the parser child, with the system allocator, it costs little)."""
    return pa.large_string() if pa.types.is_string(value_type) else value_type


def parquet_frame(table, name: str) -> pd.DataFrame:
    """The Arrow table :func:`scan_parquet` read, as the raw frame the reader continues with."""
    import pandas as pd

    try:
        frame = table.to_pandas(categories=None, ignore_metadata=True)
    except MemoryError:
        raise
    except Exception as err:
        raise PortfolioError(Message(N_("{file}: the Parquet data could not be read ({detail})."), file=name,
                                     detail=_short(err))) from None
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
    return frame.reset_index(drop=True)


def _unusable_type(arrow_type, pa) -> str | None:
    types = pa.types
    if types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if (types.is_list(arrow_type) or types.is_large_list(arrow_type) or types.is_struct(arrow_type)
            or types.is_map(arrow_type) or types.is_fixed_size_list(arrow_type) or types.is_union(arrow_type)
            or getattr(types, "is_list_view", lambda t: False)(arrow_type)
            or getattr(types, "is_large_list_view", lambda t: False)(arrow_type)):
        return "nested"
    if types.is_binary(arrow_type) or types.is_large_binary(arrow_type) or types.is_fixed_size_binary(arrow_type) \
            or getattr(types, "is_binary_view", lambda t: False)(arrow_type):
        return "binary"
    if types.is_null(arrow_type):
        return None
    if types.is_extension_type(arrow_type) if hasattr(types, "is_extension_type") else False:
        return "extension-type"
    return None


def _out_of_memory(err: BaseException) -> bool:
    """pyarrow's ways of saying that the address space (the child's RLIMIT_AS) is exhausted."""
    text = str(err).lower()
    return "memory" in type(err).__name__.lower() or "alloc" in text or "out of memory" in text \
        or "failed to launch worker thread" in text


def _caused_by(err: BaseException | None, kind: type) -> bool:
    """Whether ``err`` or an exception it wraps is a ``kind``."""
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, kind):
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]
