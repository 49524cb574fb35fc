"""The validation report: problems found in a portfolio and the rows left out because of them.

Row numbers are the ones a person sees in the file or spreadsheet: the header is row 1, so the
first data row is row 2; blank lines, an Excel "sep=;" line and title rows above the header are
counted as the file shows them (the reader records each data row's number).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from core.errors import Message, one_line, render, render_value
from core.i18n import N_, current_language, translator

#: Columns of :attr:`ValidationReport.excluded_rows`.
EXCLUDED_COLUMNS = ("row", "account_id", "column", "reason")
ROW_CONVENTION = Message(N_("row numbers as in the file: its first line (normally the header) is row 1"))


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
        Plain sentence for a person, naming the column, the rows and what to do, in English (what
        ``--json`` prints and what is stored). Given a :class:`core.errors.Message`, the English text
        is kept here and the message in :attr:`text`, translated when shown (:meth:`display`).
    code
        Short machine-readable kind, e.g. ``"duplicate_id"``.
    text
        The translatable message (``None``: :attr:`message` is shown as it is).
    """

    severity: Literal["error", "warning"]
    column: str | None
    count: int
    rows: list[int]
    message: str
    code: str = ""
    text: Message | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if callable(getattr(self.message, "render", None)) or not isinstance(self.message, str):
            object.__setattr__(self, "text", self.message)
            object.__setattr__(self, "message", render(self.message, "en"))
        object.__setattr__(self, "message", one_line(self.message))

    def display(self, language: str | None = None, **replace: object) -> str:
        """The message in ``language`` (default: the current one). ``replace`` swaps values of the
        message (the Portfolio page says "set the role in the table above" where the command line
        says "--mapping FILE.json")."""
        if self.text is None:
            return self.message
        text = self.text
        if replace and isinstance(text, Message):
            text = Message(text.msgid, **{**text.params, **{k: v for k, v in replace.items() if k in text.params}})
        return one_line(render(text, language))

    def line(self, language: str | None = "en") -> str:
        """The problem as one line of text (English unless ``language`` is given; ``None``: current)."""
        if language == "en":
            return f"{self.severity}: {self.message}"
        return _tr(language)._("{severity}: {message}").format(
            severity=severity_label(self.severity, language), message=self.display(language))


SEVERITY_LABELS = {"error": N_("error"), "warning": N_("warning")}


def _tr(language: str | None):
    return translator(language or current_language())


def severity_label(severity: str, language: str | None = None) -> str:
    """"error" / "warning" in ``language`` (default: the current one)."""
    return _tr(language)._(SEVERITY_LABELS[severity]) if severity in SEVERITY_LABELS else severity


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

    def lines(self, language: str | None = "en") -> list[str]:
        """One line per problem (errors first), then a summary line; English unless ``language`` is
        given (``None``: the current language)."""
        lines = [p.line(language) for p in self.problems]
        excluded = self.n_rows_read - self.n_rows_usable
        if self.is_usable:
            summary = N_("summary: {read} rows read, {excluded} excluded, {usable} usable; {errors} errors, "
                         "{warnings} warnings; portfolio is usable")
        else:
            summary = N_("summary: {read} rows read, {excluded} excluded, {usable} usable; {errors} errors, "
                         "{warnings} warnings; portfolio is NOT usable")
        lines.append(render(Message(summary, read=self.n_rows_read, excluded=excluded, usable=self.n_rows_usable,
                                    errors=len(self.errors), warnings=len(self.warnings)), language))
        return lines


def rows_summary(rows: dict, language: str | None = "en") -> str:
    """One line about a portfolio's rows from ``{"read", "used", "excluded": {reason: count}}`` (run.json).

    ``"5,000 rows read, 4,000 used, 1,000 excluded (1,000 balance is empty or NaN)"``; runs written
    before excluded rows were recorded say so instead of claiming none. English unless ``language``
    is given (``None``: the current language); the stored English reasons are translated for display
    (:func:`excluded_reason_text`).
    """
    read, used = int(rows.get("read", 0)), int(rows.get("used", 0))
    excluded = rows.get("excluded")
    if excluded is None:
        if read > used:
            message = Message(N_("{read} rows read, {used} used, {excluded} excluded (reasons not recorded in "
                                 "this run)"), read=read, used=used, excluded=read - used)
        else:
            message = Message(N_("{read} rows read, {used} used"), read=read, used=used)
        return render(message, language)
    total = sum(int(n) for n in excluded.values())
    if not total:
        return render(Message(N_("{read} rows read, {used} used, none excluded"), read=read, used=used), language)
    reasons = " · ".join(f"{render_value(int(n), language)} {excluded_reason_text(reason, language)}"
                         for reason, n in excluded.items())
    return render(Message(N_("{read} rows read, {used} used, {total} excluded ({reasons})"), read=read,
                          used=used, total=total, reasons=reasons), language)


def excluded_reason_text(reason: str, language: str | None = None) -> str:
    """An excluded-row reason as stored (English, several joined with "; ") in ``language`` (default:
    the current one). Reasons this version writes are translated; anything else is shown as it is,
    so a run written by an older or newer version still reads."""
    from portfolio.payments import PAYMENT_REASONS
    from portfolio.validate import reason_message

    language = language or current_language()
    if language == "en":
        return str(reason)
    return "; ".join(render(Message(part) if part in PAYMENT_REASONS else reason_message(part), language)
                     for part in str(reason).split("; "))


def first_rows(positions, limit: int = 10, numbers=None) -> list[int]:
    """File row numbers of the first ``limit`` 0-based data positions.

    ``numbers`` maps positions to file row numbers (from the reader); without it the header is
    taken to be row 1, so position ``p`` is row ``p + 2``.
    """
    chosen = sorted(int(p) for p in positions)[:limit]
    return [int(numbers[p]) if numbers is not None else p + 2 for p in chosen]


def rows_text(positions, count: int | None = None, numbers=None) -> Message:
    """"rows 4, 18, 33 ..." for a message (a :class:`~core.errors.Message`; ``str()`` renders it)."""
    rows = first_rows(positions, numbers=numbers)
    count = len(positions) if count is None else count
    more = " ..." if count > len(rows) else ""
    listed = f"{', '.join(map(str, rows))}{more}"
    return Message(N_("row {rows}") if len(rows) == 1 else N_("rows {rows}"), rows=listed)
