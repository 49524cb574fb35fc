"""Excel (.xlsx) and Parquet files, with guards against hostile archives and unusable column types.

* XLSX: the ZIP directory is checked before anything is decompressed (total uncompressed size,
  compression ratio, number of members); openpyxl parses the XML through defusedxml, so entity
  declarations ("billion laughs") are refused; formulas are kept as their text and never evaluated.
* Parquet: nested (list, struct, map, union) and binary columns are left out; each is reported
  with the reason in ``skipped`` so nothing disappears silently.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

import pandas as pd

from core.errors import PortfolioError

#: Refuse an XLSX whose members add up to more than this many bytes once decompressed.
MAX_XLSX_UNCOMPRESSED = 1 * 2**30
#: Refuse an XLSX member that decompresses to more than this many times its stored size
#: (and to more than 10 MB); ordinary sheets compress 5-30 times.
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_MEMBERS = 10_000
#: Parquet compresses well: limits on what the file expands to, checked from its metadata.
MAX_PARQUET_ROWS = 5_000_000
MAX_PARQUET_BYTES = 2 * 2**30


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
        raise PortfolioError(f"{name}: is not a readable Excel file (the ZIP container is damaged or "
                             "truncated). Open it in Excel and save it again as .xlsx.") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise PortfolioError(f"{name}: the Excel file has {len(members):,} parts (limit {MAX_ZIP_MEMBERS:,}); refused.")
    total = sum(m.file_size for m in members)
    if total > max_uncompressed:
        raise PortfolioError(
            f"{name}: the Excel file would expand to {total / 2**20:,.0f} MB (limit "
            f"{max_uncompressed / 2**20:,.0f} MB); refused as a possible ZIP bomb. Export the sheet as CSV.")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > MAX_COMPRESSION_RATIO and member.file_size > 10 * 2**20:
            raise PortfolioError(
                f"{name}: part '{member.filename}' expands {ratio:,.0f} times (limit "
                f"{MAX_COMPRESSION_RATIO}); refused as a possible ZIP bomb.")
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise PortfolioError(f"{name}: is a ZIP archive but not an Excel workbook (no xl/workbook.xml).")


def read_xlsx(data: bytes, name: str, sheet: str | None, max_columns: int) -> SheetData:
    """Rows of one sheet (first unless ``sheet`` names one) as an object frame, header in row 0."""
    import openpyxl
    from defusedxml import DefusedXmlException

    if not openpyxl.DEFUSEDXML:
        raise PortfolioError(f"{name}: Excel files are refused because defusedxml is not active "
                             "(install defusedxml and unset OPENPYXL_DEFUSEDXML).")
    check_zip(data, name)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as err:  # openpyxl raises many types for damaged files, and wraps defusedxml's
        if _caused_by(err, DefusedXmlException):
            raise PortfolioError(f"{name}: the Excel file declares XML entities (an 'XML bomb' pattern); "
                                 "refused. Save the sheet again from Excel or export it as CSV.") from None
        raise PortfolioError(f"{name}: could not be opened as an Excel workbook ({_short(err)}).") from None
    try:
        return _read_sheet(workbook, name, sheet, max_columns)
    finally:
        workbook.close()


def _read_sheet(workbook, name: str, sheet: str | None, max_columns: int) -> SheetData:
    from defusedxml import DefusedXmlException

    if sheet is not None and sheet not in workbook.sheetnames:
        raise PortfolioError(f"{name}: has no sheet '{sheet}'; its sheets are: "
                             f"{', '.join(repr(s) for s in workbook.sheetnames)}.")
    if not workbook.sheetnames:
        raise PortfolioError(f"{name}: the workbook has no sheets.")
    worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
    rows: list[tuple] = []
    width = 0
    formulas = 0
    try:
        numbers: list[int] = []
        for number, row in enumerate(worksheet.iter_rows(values_only=True), start=worksheet.min_row or 1):
            if len(row) > max_columns and any(v is not None for v in row[max_columns:]):
                raise PortfolioError(f"{name}: sheet '{worksheet.title}' has more than {max_columns:,} "
                                     "columns; this is not a portfolio table.")
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
            raise PortfolioError(f"{name}: the sheet declares XML entities (an 'XML bomb' pattern); refused.") from None
        raise PortfolioError(f"{name}: sheet '{worksheet.title}' could not be read ({_short(err)}).") from None
    if not rows:
        others = [s for s in workbook.sheetnames if s != worksheet.title]
        hint = f"; other sheets: {', '.join(map(repr, others))} (choose one with --sheet)" if others else ""
        raise PortfolioError(f"{name}: sheet '{worksheet.title}' is empty{hint}.")
    notes = []
    if formulas:
        notes.append(f"{name}: {formulas:,} cells hold formulas; they are kept as text and never "
                     "evaluated. Save the sheet with values only to use the computed results.")
    padded = [tuple(r) + (None,) * (width - len(r)) for r in rows]
    frame = pd.DataFrame(padded, dtype=object)
    return SheetData(frame=_drop_empty_trailing_columns(frame), notes=notes, row_numbers=numbers)


def _drop_empty_trailing_columns(frame: pd.DataFrame) -> pd.DataFrame:
    keep = frame.shape[1]
    while keep > 0 and frame.iloc[:, keep - 1].isna().all():
        keep -= 1
    return frame.iloc[:, :keep]


def read_parquet(data: bytes, name: str, max_columns: int) -> SheetData:
    """Columns of a Parquet file; nested and binary columns are skipped with a reason."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        schema = parquet.schema_arrow
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... for damaged files
        raise PortfolioError(f"{name}: is not a readable Parquet file (damaged or truncated: {_short(err)}).") from None
    rows = parquet.metadata.num_rows
    expanded = sum(parquet.metadata.row_group(i).total_byte_size for i in range(parquet.metadata.num_row_groups))
    if rows > MAX_PARQUET_ROWS or expanded > MAX_PARQUET_BYTES:
        raise PortfolioError(f"{name}: holds {rows:,} rows ({expanded / 2**20:,.0f} MB uncompressed), more than "
                             f"the {MAX_PARQUET_ROWS:,} rows / {MAX_PARQUET_BYTES / 2**20:,.0f} MB a portfolio may "
                             "have; split the file.")
    if len(schema.names) > max_columns:
        raise PortfolioError(f"{name}: has {len(schema.names):,} columns (the limit is {max_columns:,}).")
    skipped: dict[str, str] = {}
    keep: list[str] = []
    for fld in schema:
        reason = _unusable_type(fld.type, pa)
        if reason:
            skipped[fld.name] = f"not read: {reason} column ({fld.type}); flatten it into plain columns to use it"
        else:
            keep.append(fld.name)
    if len(set(keep)) != len(keep):
        raise PortfolioError(f"{name}: has duplicate column names; rename them and save again.")
    if not keep:
        raise PortfolioError(f"{name}: none of its columns can be read ("
                             + "; ".join(f"'{k}': {v}" for k, v in skipped.items()) + ").")
    try:
        table = parquet.read(columns=keep)
        frame = table.to_pandas(categories=None, ignore_metadata=True)
    except Exception as err:
        raise PortfolioError(f"{name}: the Parquet data could not be read ({_short(err)}).") from None
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
    notes = [f"{name}: column '{c}' {r}." for c, r in skipped.items()]
    return SheetData(frame=frame.reset_index(drop=True), notes=notes, skipped=skipped)


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
