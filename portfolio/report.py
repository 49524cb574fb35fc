"""The validation report: problems found in a portfolio and the rows left out because of them.

Row numbers are the ones a person sees in the file or spreadsheet: the header is row 1, so the
first data row is row 2; blank lines, an Excel "sep=;" line and title rows above the header are
counted as the file shows them (the reader records each data row's number).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from core.errors import one_line

#: Columns of :attr:`ValidationReport.excluded_rows`.
EXCLUDED_COLUMNS = ("row", "account_id", "column", "reason")
ROW_CONVENTION = "row numbers as in the file: its first line (normally the header) is row 1"


@dataclass(frozen=True)
class Problem:
    """One problem: which column, how many cells or rows, the first row numbers, and what it means.

    Attributes
    ----------
    severity
        "error" (blocking: the rows concerned are excluded, or the file is unusable) or "warning".
    column
        Column name as in the file (``None`` for a problem of the whole file).
    count
        Number of rows (or cells) affected; 0 for a problem of the whole file or column.
    rows
        First affected row numbers as in the file (first line = row 1), at most ten.
    message
        Plain sentence for a person, naming the column, the rows and what to do.
    code
        Short machine-readable kind, e.g. ``"duplicate_id"``.
    """

    severity: Literal["error", "warning"]
    column: str | None
    count: int
    rows: list[int]
    message: str
    code: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", one_line(self.message))

    def line(self) -> str:
        """The problem as one line of text."""
        return f"{self.severity}: {self.message}"


@dataclass
class ValidationReport:
    """All problems of a portfolio at once, and every row left out with its reason.

    Attributes
    ----------
    problems
        Errors first, then warnings.
    excluded_rows
        One row per excluded file row: ``row`` (as in the file), ``account_id``, ``column``, ``reason``.
    n_rows_read, n_rows_usable
        Data rows in the file, and rows that passed every blocking check.
    unusable_reasons
        Why the portfolio cannot be used at all (empty when it can).
    generated_ids
        True when the file has no account id column and each row got its file row number as id
        (``row_<n>``; a warning says so).
    """

    problems: list[Problem]
    excluded_rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(EXCLUDED_COLUMNS)))
    n_rows_read: int = 0
    n_rows_usable: int = 0
    unusable_reasons: list[str] = field(default_factory=list)
    generated_ids: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def is_usable(self) -> bool:
        """False when a required column is missing, no row is left, or too many rows were excluded."""
        return not self.unusable_reasons

    def excluded_by_reason(self) -> dict[str, int]:
        """Excluded rows counted per reason, most frequent first; the counts add up to the rows excluded.

        A row excluded for several reasons at once counts once, under its combined reason
        ("balance is empty or NaN; days past due is negative").
        """
        if self.excluded_rows.empty:
            return {}
        counts = self.excluded_rows["reason"].astype(str).value_counts(sort=True)
        return {str(reason): int(n) for reason, n in counts.items()}

    def rows_section(self) -> dict:
        """``{"read", "used", "excluded": {reason: count}}``: the rows part of run.json and ``validate --json``."""
        return {"read": int(self.n_rows_read), "used": int(self.n_rows_usable),
                "excluded": self.excluded_by_reason()}

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: severity, column, count, rows (text), message."""
        return pd.DataFrame({
            "severity": [p.severity for p in self.problems],
            "column": [p.column or "" for p in self.problems],
            "count": [p.count for p in self.problems],
            "rows": [", ".join(map(str, p.rows)) for p in self.problems],
            "message": [p.message for p in self.problems],
        })

    def lines(self) -> list[str]:
        """One line per problem (errors first), then a summary line."""
        lines = [p.line() for p in self.problems]
        excluded = self.n_rows_read - self.n_rows_usable
        status = "usable" if self.is_usable else "NOT usable"
        lines.append(f"summary: {self.n_rows_read:,} rows read, {excluded:,} excluded, "
                     f"{self.n_rows_usable:,} usable; {len(self.errors)} errors, {len(self.warnings)} warnings; "
                     f"portfolio is {status}")
        return lines


def rows_summary(rows: dict) -> str:
    """One line about a portfolio's rows from ``{"read", "used", "excluded": {reason: count}}`` (run.json).

    ``"5,000 rows read, 4,000 used, 1,000 excluded (1,000 balance is empty or NaN)"``; runs written
    before excluded rows were recorded say so instead of claiming none.
    """
    read, used = int(rows.get("read", 0)), int(rows.get("used", 0))
    text = f"{read:,} rows read, {used:,} used"
    excluded = rows.get("excluded")
    if excluded is None:
        return text + (f", {read - used:,} excluded (reasons not recorded in this run)" if read > used else "")
    total = sum(int(n) for n in excluded.values())
    if not total:
        return text + ", none excluded"
    reasons = " · ".join(f"{int(n):,} {reason}" for reason, n in excluded.items())
    return text + f", {total:,} excluded ({reasons})"


def first_rows(positions, limit: int = 10, numbers=None) -> list[int]:
    """File row numbers of the first ``limit`` 0-based data positions.

    ``numbers`` maps positions to file row numbers (from the reader); without it the header is
    taken to be row 1, so position ``p`` is row ``p + 2``.
    """
    chosen = sorted(int(p) for p in positions)[:limit]
    return [int(numbers[p]) if numbers is not None else p + 2 for p in chosen]


def rows_text(positions, count: int | None = None, numbers=None) -> str:
    """"rows 4, 18, 33 ..." for a message."""
    rows = first_rows(positions, numbers=numbers)
    count = len(positions) if count is None else count
    more = " ..." if count > len(rows) else ""
    label = "row" if len(rows) == 1 else "rows"
    return f"{label} {', '.join(map(str, rows))}{more}"
