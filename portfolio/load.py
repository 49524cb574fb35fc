"""Read, detect roles and validate in one call: the portfolio the app and the command line work with."""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pandas as pd

from portfolio.read import DEFAULT_MAX_BYTES, ReadResult, read_table
from portfolio.report import ValidationReport
from portfolio.roles import ColumnRoles, Role, detect_roles
from portfolio.validate import ValidationSettings, check_portfolio


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio.

    Attributes
    ----------
    frame
        Usable rows only (RangeIndex). ``account_id`` (str), ``balance`` (float, EUR) and
        ``days_past_due`` (float, days) under their canonical names; other columns keep their source names.
        A file without an id column gets ``account_id`` = ``row_<file row number>`` (``report.generated_ids``).
    roles
        Column roles and the reason for each (a generated ``account_id`` included).
    report
        Problems, excluded rows (with reasons) and whether the portfolio is usable at all.
    sha256, source_name
        Hash of the file's bytes and its name.
    row_numbers
        File row number (header = row 1) of each row of ``frame``, aligned with it.
    read
        How the file was read (encoding, delimiter, notes); ``None`` for a frame given directly.
    """

    frame: pd.DataFrame
    roles: ColumnRoles
    report: ValidationReport
    sha256: str
    source_name: str
    row_numbers: pd.Series | None = None
    read: ReadResult | None = None

    @property
    def is_usable(self) -> bool:
        return self.report.is_usable

    @property
    def model_features(self) -> list[str]:
        """Columns models and personas may use: balance, days_past_due and the feature columns."""
        return [Role.BALANCE, Role.DAYS_PAST_DUE] + self.roles.features


def load_portfolio(source: str | os.PathLike | bytes | BinaryIO | pd.DataFrame, *, filename: str | None = None,
                   mapping: dict | str | os.PathLike | None = None, sheet: str | None = None,
                   max_bytes: int = DEFAULT_MAX_BYTES,
                   settings: ValidationSettings = ValidationSettings()) -> Portfolio:
    """Read a file (or take a frame), detect column roles, validate, and keep the usable rows.

    Parameters
    ----------
    source
        Path, bytes, binary file object, or a DataFrame already in memory.
    filename, sheet, max_bytes
        As for :func:`portfolio.read.read_table`.
    mapping
        Source column -> role or canonical name (dict or JSON file), overriding detection.
    settings
        Validation thresholds.

    Raises
    ------
    PortfolioError
        When the file cannot be read or the mapping is wrong. A readable file with problems is
        returned with ``report.is_usable`` False instead.
    """
    if isinstance(source, pd.DataFrame):
        raw, result = source.reset_index(drop=True), None
        sha256 = _frame_sha256(raw)
        name = filename or "data frame"
    else:
        result = read_table(source, filename=filename, sheet=sheet, max_bytes=max_bytes)
        raw, sha256, name = result.frame, result.sha256, result.source_name
    roles = detect_roles(raw, mapping)
    checked = check_portfolio(
        raw, roles, unparsed=result.unparsed if result else None, notes=result.notes if result else (),
        skipped_columns=result.skipped_columns if result else None,
        suspect_rows=result.suspect_rows if result else None,
        row_numbers=result.row_numbers if result else None, settings=settings)
    usable = checked.usable.to_numpy(dtype=bool)
    kept = checked.frame if usable.all() else checked.frame[usable]  # all usable (the usual case): no copy
    frame = _infinite_as_missing(kept.reset_index(drop=True))
    row_numbers = pd.Series(checked.row_numbers[usable], name="row")
    return Portfolio(frame=frame, roles=checked.roles or roles, report=checked.report, sha256=sha256,
                     source_name=name, row_numbers=row_numbers, read=result)


def _infinite_as_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Infinite values in other numeric columns become NaN (the report warns about each column)."""
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values) and np.isinf(values.to_numpy(dtype="float64")).any():
            frame[column] = values.where(~np.isinf(values.to_numpy(dtype="float64")))
    return frame


def _frame_sha256(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return hashlib.sha256(buffer.getvalue().encode("utf-8", "replace")).hexdigest()
