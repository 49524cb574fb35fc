"""Read a payments file (account id, payment date, amount) and check it with a portfolio's care.

The file goes through the portfolio reader (:func:`portfolio.read.read_table`): CSV with ``;``,
``,``, tab or pipe, UTF-8 with or without BOM, Windows-1252, German ("1.234,56") and English
numbers, Excel (.xlsx) and Parquet, with the same size and bomb limits. Which column is the
account id, the payment date and the amount is decided here from the header (German and English
names: *Kontonummer*, *Buchungsdatum*, *Betrag*, *account_id*, *paid_on*, *amount* ...), so no
other package matches payment column names; a ``mapping`` overrides the decision.

Rows are checked one by one:

* excluded (each listed with its file row number and reason): empty account id, an empty or
  unreadable date (``dd.mm.yyyy``, ISO ``yyyy-mm-dd`` and the other :data:`portfolio.meanings.DATE_FORMATS`),
  an empty, unreadable or infinite amount, a row cut off at the end of the file;
* kept and reported: negative amounts (reversals, *Rückbuchungen*: they lower the account's net
  payment), zero amounts, rows repeating another row's account, date and amount (two equal
  payments on one day can be real; a double export is not, so the report names the rows), dates
  in the future.

A file is refused (:class:`PaymentsError`, naming the file, the column, the rows and what to do)
when a column is missing, no row is usable, or more than half of the rows are excluded.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd

from core.errors import Joined, Message, Number, Percent, PortfolioError, render
from core.i18n import N_
from portfolio.meanings import date_values, looks_like_date_column
from portfolio.numbers import missing_mask, parse_numbers
from portfolio.read import DEFAULT_MAX_BYTES, ReadResult, read_table
from portfolio.report import (
    EXCLUDED_COLUMNS, ROW_CONVENTION, SEVERITY_LABELS, Problem, ValidationReport, first_rows, rows_text,
)
from portfolio.synonyms import ACCOUNT_ID_SYNONYMS, normalise_name, strip_owner

#: Canonical columns of :attr:`PaymentsFile.frame`.
ACCOUNT_ID, PAID_ON, AMOUNT = "account_id", "paid_on", "amount"
COLUMNS = (ACCOUNT_ID, PAID_ON, AMOUNT)
#: Not usable when more rows than this share are excluded (as for portfolios).
MAX_EXCLUDED_SHARE = 0.5

# Names tried for each column, in order of preference (compared after normalise_name).
PAYMENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    ACCOUNT_ID: ("account_id", "kontonummer", "konto nr", "kontonr", "konto", "kundennummer", "kunden nr",
                 "kundennr") + ACCOUNT_ID_SYNONYMS,
    PAID_ON: ("paid_on", "payment date", "paid date", "date paid", "paid at", "payment on", "zahlungsdatum",
              "zahldatum", "zahlung am", "gezahlt am", "bezahlt am", "eingangsdatum", "zahlungseingang am",
              "eingang am", "buchungsdatum", "buchungstag", "gebucht am", "booking date", "posting date",
              "transaction date", "value date", "valutadatum", "valuta", "wertstellung", "wertstellungsdatum",
              "datum", "date"),
    AMOUNT: ("amount", "payment amount", "paid amount", "amount paid", "payment", "zahlbetrag",
             "zahlungsbetrag", "eingangsbetrag", "gezahlter betrag", "gezahlt", "betrag", "zahlung",
             "zahlungseingang", "gutschrift", "haben", "umsatz", "value"),
}
_LABELS = {ACCOUNT_ID: N_("account id"), PAID_ON: N_("payment date"), AMOUNT: N_("amount")}
_OPTIONS = {ACCOUNT_ID: "--id-column", PAID_ON: "--date-column", AMOUNT: "--amount-column"}


class PaymentsError(PortfolioError):
    """A payments file cannot be used; the message names the file, the column, the rows and what to do."""


@dataclass(frozen=True)
class PaymentsFile:
    """A checked payments file.

    Attributes
    ----------
    frame
        Usable rows (RangeIndex): ``account_id`` (str), ``paid_on`` (datetime64[ns], a date at
        midnight), ``amount`` (float, in the file's currency; negative for a reversal).
    report
        Problems (errors: rows excluded; warnings: rows kept but worth a look) and excluded rows
        (``row``, ``account_id``, ``column``, ``reason``), rows read and used.
    columns
        Canonical column -> the file's column it came from.
    sha256, source_name
        SHA-256 of the file's bytes and its name.
    row_numbers
        File row number of each row of ``frame`` (first line of the file = row 1).
    read
        How the file was read (format, encoding, delimiter, notes).
    """

    frame: pd.DataFrame
    report: ValidationReport
    columns: dict[str, str]
    sha256: str
    source_name: str
    row_numbers: pd.Series
    read: ReadResult | None = field(default=None, repr=False)

    @property
    def n_reversals(self) -> int:
        return int((self.frame[AMOUNT] < 0).sum())

    def summary(self) -> dict:
        """JSON-safe summary: rows, columns, dates, totals, problems."""
        frame = self.frame
        return {"file": self.source_name, "sha256": self.sha256, "columns": dict(self.columns),
                "rows": self.report.rows_section(), "accounts": int(frame[ACCOUNT_ID].nunique()),
                "first_date": _iso(frame[PAID_ON].min()), "last_date": _iso(frame[PAID_ON].max()),
                "total_amount": round(float(frame[AMOUNT].sum()), 2), "reversals": self.n_reversals,
                "problems": [{"severity": p.severity, "column": p.column, "count": p.count, "rows": p.rows,
                              "message": p.message, "code": p.code} for p in self.report.problems]}

    def lines(self, language: str | None = "en") -> list[str]:
        """One line per problem (errors first), then a summary line; English unless ``language`` is
        given (``None``: the current language)."""
        from core.formats import format_date

        report = self.report
        excluded = report.n_rows_read - report.n_rows_usable
        used = Joined(", ", [Message("{label} = '{column}'", label=Message(_LABELS[c]), column=s)
                             for c, s in self.columns.items()])
        first, last = self.frame[PAID_ON].min(), self.frame[PAID_ON].max()
        day = (lambda v: _iso(v)) if language == "en" else (lambda v: format_date(v, language))
        summary = Message(N_("summary: {read} rows read, {excluded} excluded, {usable} used ({used}); {accounts} "
                             "accounts, payments from {first} to {last}, total {total}"),
                          read=report.n_rows_read, excluded=excluded, usable=report.n_rows_usable, used=used,
                          accounts=int(self.frame[ACCOUNT_ID].nunique()), first=str(day(first)),
                          last=str(day(last)), total=Number(float(self.frame[AMOUNT].sum())))
        return [p.line(language) for p in report.problems] + [render(summary, language)]


def load_payments(source: str | os.PathLike | bytes | BinaryIO, *, filename: str | None = None,
                  sheet: str | None = None, mapping: dict[str, str] | None = None,
                  max_bytes: int = DEFAULT_MAX_BYTES, today: datetime.date | None = None) -> PaymentsFile:
    """Read and check a payments file.

    Parameters
    ----------
    source
        Path, bytes or binary file object (CSV, XLSX or Parquet).
    filename, sheet, max_bytes
        As for :func:`portfolio.read.read_table`.
    mapping
        ``{"account_id" | "paid_on" | "amount": "<column in the file>"}``: overrides the column
        found by name (the command line's ``--id-column``, ``--date-column``, ``--amount-column``).
    today
        Dates after it are reported as in the future (default: today).

    Raises
    ------
    PaymentsError
        When a column is missing, no row is usable or more than half of the rows are excluded.
    PortfolioError
        When the file cannot be read at all.
    """
    result = read_table(source, filename=filename, sheet=sheet, max_bytes=max_bytes)
    name = result.source_name
    columns, notes = find_payment_columns(result.frame, mapping, name)
    numbers = np.asarray(result.row_numbers if result.row_numbers is not None
                         else np.arange(len(result.frame)) + 2, dtype="int64")
    raw = result.frame
    ids = _ids(raw[columns[ACCOUNT_ID]])
    dates = date_values(raw[columns[PAID_ON]]).dt.normalize()
    amounts, bad_amount = _amounts(raw[columns[AMOUNT]], result, columns[AMOUNT])
    checks = _row_checks(raw, columns, ids, dates, amounts, bad_amount, result.suspect_rows)
    problems = [Problem("warning", None, 0, [], note, code="column_choice") for note in notes]
    problems += [_row_problem(check, mask, raw, columns, numbers, result) for check, mask in checks.items()
                 if mask.any()]
    excluded = pd.concat(list(checks.values()), axis=1).any(axis=1).to_numpy() if checks else \
        np.zeros(len(raw), dtype=bool)
    frame = pd.DataFrame({ACCOUNT_ID: ids, PAID_ON: dates.astype("datetime64[ns]"), AMOUNT: amounts})
    kept = frame[~excluded].reset_index(drop=True)
    kept_numbers = numbers[~excluded]
    problems += _kept_warnings(kept, kept_numbers, columns, today or datetime.date.today())
    problems += [Problem("warning", None, 0, [], note, code="reader_note") for note in result.notes]
    report = ValidationReport(problems=sorted(problems, key=lambda p: p.severity != "error"),
                              excluded_rows=_excluded_rows(checks, ids, columns, numbers),
                              n_rows_read=len(raw), n_rows_usable=len(kept))
    _refuse_unusable(report, name)
    return PaymentsFile(kept, report, columns, result.sha256, name, pd.Series(kept_numbers, name="row"), result)


# ---------------------------------------------------------------------------- columns
def find_payment_columns(frame: pd.DataFrame, mapping: dict[str, str] | None,
                         name: str) -> tuple[dict[str, str], list[str]]:
    """The file's column for account id, payment date and amount (``mapping`` first, then names).

    A file without a date column by name but with exactly one column of dates uses that column,
    with a note. Raises :class:`PaymentsError` for an unknown mapped column or a missing column.
    """
    mapping = {str(k): str(v) for k, v in (mapping or {}).items() if v}
    unknown_keys = sorted(set(mapping) - set(COLUMNS))
    if unknown_keys:
        raise PaymentsError(Message(N_("{file}: unknown payment column(s) {keys} in the mapping; use {known}."),
                                    file=name, keys=", ".join(unknown_keys), known=", ".join(COLUMNS)))
    present = [str(c) for c in frame.columns]
    chosen: dict[str, str] = {}
    notes: list[str] = []
    for canonical in COLUMNS:
        if canonical in mapping:
            if mapping[canonical] not in present:
                raise PaymentsError(Message(N_("{file}: has no column '{column}' (given for the {label}); its "
                                               "columns are {columns}."), file=name, column=mapping[canonical],
                                            label=Message(_LABELS[canonical]), columns=_shown(present)))
            chosen[canonical] = mapping[canonical]
            continue
        taken = set(chosen.values()) | {v for k, v in mapping.items()}
        found = _by_name(present, PAYMENT_SYNONYMS[canonical], taken)
        if found is None and canonical == PAID_ON:
            dated = [c for c in present if c not in taken and looks_like_date_column(frame[c])]
            if len(dated) == 1:
                found = dated[0]
                notes.append(Message(N_("{file}: no column is named like a payment date; column '{column}' holds "
                                        "dates and is used as the payment date (name another with {option})."),
                                     file=name, column=found, option=_OPTIONS[PAID_ON]))
        if found is None:
            raise PaymentsError(_missing_column(name, canonical, present))
        others = [c for c in present if c != found and c not in taken
                  and _by_name([c], PAYMENT_SYNONYMS[canonical], set()) is not None]
        if others:
            notes.append(Message(N_("{file}: column '{column}' is used as the {label}; {others} could be too "
                                    "(choose with {option})."), file=name, column=found,
                                 label=Message(_LABELS[canonical]), others=_shown(others),
                                 option=_OPTIONS[canonical]))
        chosen[canonical] = found
    return {c: chosen[c] for c in COLUMNS}, notes


def _by_name(present: list[str], synonyms: tuple[str, ...], taken: set[str]) -> str | None:
    normalised = {c: normalise_name(c) for c in present if c not in taken}
    for synonym in synonyms:
        wanted = normalise_name(synonym)
        for column, norm in normalised.items():
            if norm == wanted or strip_owner(norm) == wanted:
                return column
    return None


def _missing_column(name: str, canonical: str, present: list[str]) -> Message:
    tried = PAYMENT_SYNONYMS[canonical]
    return Message(N_("{file}: no column for the {label} was found (names tried, any case: {names} and {n} more); "
                      "its columns are {columns}. Rename the column, or name it with {option} COLUMN."),
                   file=name, label=Message(_LABELS[canonical]), names=", ".join(repr(s) for s in tried[:12]),
                   n=len(tried) - 12, columns=_shown(present), option=_OPTIONS[canonical])


def _shown(columns: list[str], limit: int = 12) -> Message | str:
    text = ", ".join(f"'{c}'" for c in columns[:limit])
    if len(columns) > limit:
        return Message(N_("{names} and {n} more"), names=text, n=len(columns) - limit)
    return text


# ---------------------------------------------------------------------------- values
def _ids(values: pd.Series) -> pd.Series:
    def as_text(value: object) -> object:
        if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        return str(value).strip()

    text = values.map(as_text).astype("object")
    return text.where(text.notna() & ~missing_mask(text.astype("str")), None)


def _amounts(values: pd.Series, result: ReadResult, column: str) -> tuple[pd.Series, pd.Series]:
    """Amounts as float (NaN where empty or unreadable) and a mask of cells that are not numbers."""
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index), values.notna()
    if pd.api.types.is_numeric_dtype(values):
        bad = pd.Series(False, index=values.index)
        for position in result.unparsed.get(column, {}):
            if 0 <= position < len(bad):
                bad.iloc[position] = True
        return pd.to_numeric(values, errors="coerce").astype("float64"), bad
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.Series(np.nan, index=values.index), values.notna()
    text = values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    default = "de" if result.delimiter == ";" else "en"
    parsed = parse_numbers(text.astype("object"), default=default)
    bad = pd.Series(False, index=values.index)
    bad[parsed.unparsed.index] = True
    return parsed.values.astype("float64"), bad


def _row_checks(raw: pd.DataFrame, columns: dict[str, str], ids: pd.Series, dates: pd.Series,
                amounts: pd.Series, bad_amount: pd.Series, suspect: dict[int, str]) -> dict[str, pd.Series]:
    """Check name -> mask of the rows it excludes."""
    date_filled = ~missing_mask(raw[columns[PAID_ON]].astype("object").map(
        lambda v: "" if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) else str(v)))
    suspect_mask = pd.Series(False, index=raw.index)
    suspect_mask.iloc[[p for p in suspect if 0 <= p < len(raw)]] = True
    return {
        "suspect_row": suspect_mask,
        "empty_id": ids.isna(),
        "empty_date": ~date_filled,
        "bad_date": date_filled & dates.isna(),
        "empty_amount": amounts.isna() & ~bad_amount,
        "bad_amount": bad_amount,
        "infinite_amount": pd.Series(np.isinf(amounts.to_numpy(dtype="float64")), index=raw.index),
    }


#: Per check: the message for one row (or value) and for several.
_MESSAGES = {
    "suspect_row": (N_("{label}: {n} row is cut off at the end of the file ({rows}); excluded"),
                    N_("{label}: {n} rows are cut off at the end of the file ({rows}); excluded")),
    "empty_id": (N_("column '{column}' (account id): {n} row has no account id ({rows}); excluded"),
                 N_("column '{column}' (account id): {n} rows have no account id ({rows}); excluded")),
    "empty_date": (N_("column '{column}' (payment date): {n} row has no date ({rows}); excluded"),
                   N_("column '{column}' (payment date): {n} rows have no date ({rows}); excluded")),
    "bad_date": (N_("column '{column}' (payment date): {n} value is not a date (e.g. {examples}; {rows}); "
                    "excluded. Dates are read as dd.mm.yyyy or yyyy-mm-dd; fix those cells or re-export the file"),
                 N_("column '{column}' (payment date): {n} values are not a date (e.g. {examples}; {rows}); "
                    "excluded. Dates are read as dd.mm.yyyy or yyyy-mm-dd; fix those cells or re-export the file")),
    "empty_amount": (N_("column '{column}' (amount): {n} row has no amount ({rows}); excluded"),
                     N_("column '{column}' (amount): {n} rows have no amount ({rows}); excluded")),
    "bad_amount": (N_("column '{column}' (amount): {n} value is not an amount (e.g. {examples}; {rows}); "
                      "excluded. Amounts are read as 1.234,56 or 1,234.56; fix those cells"),
                   N_("column '{column}' (amount): {n} values are not an amount (e.g. {examples}; {rows}); "
                      "excluded. Amounts are read as 1.234,56 or 1,234.56; fix those cells")),
    "infinite_amount": (N_("column '{column}' (amount): {n} value is infinite ({rows}); excluded"),
                        N_("column '{column}' (amount): {n} values are infinite ({rows}); excluded")),
}
_CHECK_COLUMN = {"empty_id": ACCOUNT_ID, "empty_date": PAID_ON, "bad_date": PAID_ON, "empty_amount": AMOUNT,
                 "bad_amount": AMOUNT, "infinite_amount": AMOUNT}
#: Excluded-row reasons, stored in English (translated for display: portfolio.report.excluded_reason_text).
_REASONS = {"suspect_row": N_("the file ends in the middle of this row"), "empty_id": N_("empty account id"),
            "empty_date": N_("empty payment date"), "bad_date": N_("payment date is not a date"),
            "empty_amount": N_("empty amount"), "bad_amount": N_("amount is not a number"),
            "infinite_amount": N_("amount is infinite")}
PAYMENT_REASONS = frozenset(_REASONS.values())


def _row_problem(check: str, mask: pd.Series, raw: pd.DataFrame, columns: dict[str, str], numbers: np.ndarray,
                 result: ReadResult) -> Problem:
    positions = np.flatnonzero(mask.to_numpy())
    canonical = _CHECK_COLUMN.get(check)
    column = columns[canonical] if canonical else None
    examples = ""
    if column is not None:
        cells = result.unparsed.get(column, {})
        shown = [str(cells.get(int(p), raw[column].iloc[p])) for p in positions[:50]]
        examples = ", ".join(f"'{v[:30]}'" for v in list(dict.fromkeys(shown))[:3])
    one, many = _MESSAGES[check]
    text = Message(one if len(positions) == 1 else many, label=result.source_name, column=str(column),
                   n=len(positions), examples=examples, rows=rows_text(positions, numbers=numbers))
    return Problem("error", column, len(positions), first_rows(positions, numbers=numbers),
                   Message("{text} [{convention}]", text=text, convention=ROW_CONVENTION), code=check)


def _excluded_rows(checks: dict[str, pd.Series], ids: pd.Series, columns: dict[str, str],
                   numbers: np.ndarray) -> pd.DataFrame:
    records = []
    for check, mask in checks.items():
        canonical = _CHECK_COLUMN.get(check)
        for position in np.flatnonzero(mask.to_numpy()):
            records.append((int(position), columns[canonical] if canonical else "(whole row)", _REASONS[check]))
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "object") for c in EXCLUDED_COLUMNS})
    table = pd.DataFrame(records, columns=["position", "column", "reason"])
    grouped = table.groupby("position", sort=True).agg(column=("column", lambda s: ", ".join(dict.fromkeys(s))),
                                                       reason=("reason", lambda s: "; ".join(dict.fromkeys(s))))
    positions = grouped.index.to_numpy(dtype="int64")
    return pd.DataFrame({"row": numbers[positions], "account_id": ids.iloc[positions].to_numpy(),
                         "column": grouped["column"].to_numpy(), "reason": grouped["reason"].to_numpy()})


def _kept_warnings(kept: pd.DataFrame, numbers: np.ndarray, columns: dict[str, str],
                   today: datetime.date) -> list[Problem]:
    """Rows kept but worth a look: reversals, zero amounts, repeated payments, future dates."""
    amount, paid_on = columns[AMOUNT], columns[PAID_ON]
    out = []

    def add(mask: np.ndarray, where: str | None, text: str, code: str, **params) -> None:
        positions = np.flatnonzero(mask)
        if len(positions):
            message = Message(text, n=len(positions), rows=rows_text(positions, numbers=numbers), **params)
            out.append(Problem("warning", where, len(positions), first_rows(positions, numbers=numbers),
                               Message("{text} [{convention}]", text=message, convention=ROW_CONVENTION),
                               code=code))

    values = kept[AMOUNT].to_numpy(dtype="float64")
    add(values < 0, amount, N_("column '{column}' (amount): {n} negative amount(s) ({rows}) kept as reversals "
                               "(Rückbuchungen) totalling {total}; they lower the account's net payment"), "reversal",
        column=amount, total=Number(float(values[values < 0].sum())))
    add(values == 0, amount, N_("column '{column}' (amount): {n} amount(s) of 0 ({rows}); kept, they change nothing"),
        "zero_amount", column=amount)
    repeated = kept.duplicated(subset=list(COLUMNS), keep=False).to_numpy()
    add(repeated, None, N_("{n} rows repeat another row's account, date and amount ({rows}); all are kept as "
                           "separate payments. If the file was exported twice or overlaps, remove the copies "
                           "and load it again"), "duplicate_payment")
    future = (kept[PAID_ON] > pd.Timestamp(today)).to_numpy()
    add(future, paid_on, N_("column '{column}' (payment date): {n} date(s) after today, {today} ({rows}); kept. If "
                            "that is unexpected, check the date format (dd.mm.yyyy or yyyy-mm-dd)"), "future_date",
        column=paid_on, today=today.isoformat())
    return out


def _refuse_unusable(report: ValidationReport, name: str) -> None:
    read, used = report.n_rows_read, report.n_rows_usable
    reason = None
    if used == 0:
        reason = Message(N_("{file}: none of its {n} rows is usable (see the problems above); fix the file and load "
                            "it again."), file=name, n=read)
    elif (read - used) / read > MAX_EXCLUDED_SHARE:
        reason = Message(N_("{file}: {excluded} of {read} rows ({share}) are excluded, more than {allowed}; most "
                            "likely a column or the date format is wrong. Fix the file, or choose the columns with "
                            "--id-column, --date-column, --amount-column."), file=name, excluded=read - used,
                         read=read, share=Percent((read - used) / read), allowed=Percent(MAX_EXCLUDED_SHARE))
    if reason:
        report.unusable_reasons.append(str(reason))
        lines = [Message("{severity}: {message}", severity=Message(SEVERITY_LABELS[p.severity]),
                         message=p.text or p.message) for p in report.errors] + [reason]
        raise PaymentsError(reason, lines=lines)


def _iso(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


__all__ = ["ACCOUNT_ID", "AMOUNT", "COLUMNS", "PAID_ON", "PAYMENT_SYNONYMS", "PaymentsError",
           "PaymentsFile", "find_payment_columns", "load_payments"]
