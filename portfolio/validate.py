"""Validate a portfolio with pandera (lazy: every problem at once) and decide which rows can be used.

Blocking problems (severity "error"):

* a required column (balance, days_past_due) is missing: the portfolio is not usable. A file
  without an account id column is usable: each row gets its file row number as id (``row_<n>``)
  and a warning says so;
* per row: empty account id; duplicate account id (all rows of a duplicated id are excluded,
  because nobody can tell which of them is right); balance or days past due empty, NaN, infinite,
  not a number or negative. Such rows are excluded and listed in ``excluded_rows``; none is dropped
  silently.

Warnings: more than ``missing_share`` of a column empty, constant or empty columns, unusually large
balances (above a robust upper fence), implausible days past due, high-cardinality categories,
and everything the reader noticed (mixed encodings, formulas, skipped columns).

The portfolio is not usable when the balance or days past due column is missing, no row is left,
or more than ``max_excluded_share`` of the rows were excluded. Usable with excluded rows is usable:
``personas validate`` and ``personas run`` both exit 0 for it (and 1 for an unusable portfolio).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from core.errors import Message, Percent, render
from core.i18n import N_
from portfolio.numbers import missing_mask, parse_numbers
from portfolio.report import EXCLUDED_COLUMNS, ROW_CONVENTION, Problem, ValidationReport, rows_text, first_rows
from portfolio.column_checks import column_warnings
from portfolio.roles import ColumnRoles, Role
from portfolio.synonyms import REQUIRED_SYNONYMS


@dataclass(frozen=True)
class ValidationSettings:
    """Thresholds of the validator (shares are 0..1)."""

    missing_share: float = 0.2  #: warn when more of a column is empty
    max_excluded_share: float = 0.5  #: not usable when more rows are excluded
    outlier_iqr: float = 3.0  #: balance fence: Q3 + outlier_iqr * IQR of log(1 + balance)
    max_plausible_dpd: float = 3650.0  #: warn above (days; 10 years)
    high_cardinality: int = 50  #: warn for categorical features with more levels


_LABELS = {"account_id": N_("account id"), "balance": N_("balance"), "days_past_due": N_("days past due")}
#: Per check: the message for one row (or value) and for several.
_MESSAGES = {
    "empty_id": (N_("{n} row has an empty account id ({rows}); excluded"),
                 N_("{n} rows have an empty account id ({rows}); excluded")),
    "duplicate_id": (N_("{n} row shares {k} account id(s) that appear more than once (e.g. {examples}; {rows}); "
                        "all of them are excluded because it is unclear which row is right"),
                     N_("{n} rows share {k} account id(s) that appear more than once (e.g. {examples}; {rows}); "
                        "all of them are excluded because it is unclear which row is right")),
    "not_a_number": (N_("{n} value is not a number (e.g. {examples}; {rows}); excluded"),
                     N_("{n} values are not numbers (e.g. {examples}; {rows}); excluded")),
    "empty": (N_("{n} value is empty or NaN ({rows}); excluded"),
              N_("{n} values are empty or NaN ({rows}); excluded")),
    "infinite": (N_("{n} value is infinite ({rows}); excluded"), N_("{n} values are infinite ({rows}); excluded")),
    "negative": (N_("{n} value is negative (e.g. {examples}; {rows}); excluded"),
                 N_("{n} values are negative (e.g. {examples}; {rows}); excluded")),
}
_OTHER_CHECK = (N_("{n} value is failing the check {check} ({rows})"),
                N_("{n} values are failing the check {check} ({rows})"))
FILE_COLUMN = "(whole row)"
#: Ids given to the rows of a file without an account id column: ``row_<file row number>``.
ID_PREFIX = "row_"
GENERATED_ID_REASON = ("generated: the file has no account id column, so each row's number in the file "
                       f"is its id ('{ID_PREFIX}<row>')")
GENERATED_ID_MESSAGE = Message(N_("generated: the file has no account id column, so each row's number in the file "
                                  "is its id ('{example}')"), example=f"{ID_PREFIX}<row>")
_REASONS = {"suspect_row": N_("the file ends in the middle of this row"),
            "empty_id": N_("empty account id"), "duplicate_id": N_("duplicate account id"),
            "not_a_number": N_("{label} is not a number"), "empty": N_("{label} is empty or NaN"),
            "infinite": N_("{label} is infinite"), "negative": N_("{label} is negative")}
#: What to do about a missing column, on the command line and in the app (Problem.display(fix=...)).
CLI_MAPPING_FIX = N_('Add a mapping file such as {{"<your column>": "{role}"}} (command line: --mapping FILE.json)')
APP_MAPPING_FIX = N_("If the file has such a column, set its role to {role} in the column table above")
CLI_ID_FIX = N_('If the file has an id column, map it with a mapping file such as {{"<your column>": "account_id"}} '
                "(command line: --mapping FILE.json)")
APP_ID_FIX = N_("If the file has an id column, set its role to account_id in the column table above")


def reason_message(reason: str) -> Message | str:
    """The message of one stored English excluded-row reason ("balance is empty or NaN"); the text
    itself when this version does not write it (an older or newer run)."""
    for template in _REASONS.values():
        if "{label}" not in template:
            if reason == template:
                return Message(template)
            continue
        head, tail = template.split("{label}")
        if reason.startswith(head) and reason.endswith(tail):
            label = reason[len(head):len(reason) - len(tail)]
            known = next((text for text in _LABELS.values() if text == label), None)
            return Message(template, label=Message(known) if known else label)
    return reason


def app_text(problem: Problem, language: str | None = None) -> str:
    """A problem as the Portfolio page says it: what to do in the app's column table instead of a
    command-line mapping file; every other problem as :meth:`Problem.display` says it."""
    params = problem.text.params if isinstance(problem.text, Message) else {}
    if problem.code == "missing_column" and "role" in params:
        return problem.display(language, fix=Message(APP_MAPPING_FIX, role=params["role"]))
    if problem.code == "generated_ids" and "fix" in params:
        return problem.display(language, fix=Message(APP_ID_FIX))
    return problem.display(language)


def _reason(check: str, column: str) -> Message:
    label = _LABELS.get(column)
    return Message(_REASONS.get(check, check), label=Message(label) if label else column)


@dataclass(frozen=True)
class CheckedFrame:
    """The frame with canonical, coerced required columns, and which rows passed."""

    frame: pd.DataFrame
    usable: pd.Series  #: bool per row position
    report: ValidationReport
    row_numbers: np.ndarray  #: file row number per row position
    roles: ColumnRoles | None = None  #: the roles, with a generated account_id when the file has none


def validate_portfolio(frame: pd.DataFrame, roles: ColumnRoles, *, unparsed: dict | None = None,
                       notes: tuple[str, ...] | list[str] = (), skipped_columns: dict | None = None,
                       suspect_rows: dict[int, str] | None = None, row_numbers=None,
                       settings: ValidationSettings = ValidationSettings()) -> ValidationReport:
    """Check a portfolio and report every problem at once.

    Parameters
    ----------
    frame
        The raw frame (source column names) or one already renamed with ``roles.renamed``.
    roles
        Column roles from :func:`portfolio.roles.detect_roles`.
    unparsed, notes, skipped_columns, suspect_rows, row_numbers
        What the reader found (see :class:`portfolio.read.ReadResult`); reported too.
    settings
        Thresholds.
    """
    return check_portfolio(frame, roles, unparsed=unparsed, notes=notes, skipped_columns=skipped_columns,
                           suspect_rows=suspect_rows, row_numbers=row_numbers, settings=settings).report


def check_portfolio(frame: pd.DataFrame, roles: ColumnRoles, *, unparsed: dict | None = None,
                    notes=(), skipped_columns: dict | None = None, suspect_rows: dict[int, str] | None = None,
                    row_numbers=None, settings: ValidationSettings = ValidationSettings()) -> CheckedFrame:
    """Like :func:`validate_portfolio`, and also return the coerced frame and the usable-row mask."""
    data = frame.reset_index(drop=True).rename(columns=roles.renamed)
    numbers = np.arange(len(data), dtype="int64") + 2
    if row_numbers is not None and len(row_numbers) == len(data):
        numbers = np.asarray(row_numbers, dtype="int64")
    unparsed = {roles.renamed.get(k, k): v for k, v in (unparsed or {}).items()}
    problems: list[Problem] = []
    unusable: list[str] = []
    missing = [r for r in Role.REQUIRED if r not in data.columns or roles.roles.get(r) != r]
    generated = Role.ACCOUNT_ID in missing and Role.ACCOUNT_ID not in data.columns
    if generated:  # a file without ids is still usable: its row numbers identify the accounts
        data.insert(0, Role.ACCOUNT_ID, pd.Series([f"{ID_PREFIX}{n}" for n in numbers], dtype="object"))
        missing.remove(Role.ACCOUNT_ID)
        problems.append(_generated_ids_problem(len(data)))
    for role in missing:
        problems.append(_missing_column_problem(role))
        unusable.append(f"no {_LABELS[role]} column")  # stored as it is: English
    bad_cells: dict[str, pd.Series] = {}
    raw = {role: data[role].copy() for role in Role.REQUIRED if role not in missing}
    for role in Role.REQUIRED:
        if role in missing:
            continue
        if role == Role.ACCOUNT_ID:
            data[role] = _coerce_ids(data[role])
        else:
            data[role], bad_cells[role] = _coerce_numbers(data[role], unparsed.get(role, {}))
    failures = _run_schema(data, [r for r in Role.REQUIRED if r not in missing], bad_cells)
    suspect = {int(p): r if isinstance(r, Message) else reason_message(str(r))
               for p, r in (suspect_rows or {}).items() if 0 <= int(p) < len(data)}
    if suspect:
        failures = pd.concat([failures, pd.DataFrame(
            {"column": FILE_COLUMN, "check": "suspect_row", "position": list(suspect)})], ignore_index=True)
    excluded = _excluded_rows(data, roles, failures, numbers)
    problems += _row_problems(raw, roles, failures[failures["column"] != FILE_COLUMN], unparsed, numbers)
    problems += [Problem("error", None, 1, first_rows([p], numbers=numbers), Message(
        N_("row {row}: {reason}; excluded [{convention}]"), row=str(numbers[p]), reason=reason,
        convention=ROW_CONVENTION), code="suspect_row")
        for p, reason in suspect.items()]
    usable = pd.Series(True, index=data.index)
    usable[excluded["_position"].to_numpy()] = False
    n_read, n_usable = len(data), int(usable.sum())
    problems += _usability(n_read, n_usable, settings, unusable)
    problems += _warnings(data[usable] if not missing else data, roles, unparsed, notes, skipped_columns or {},
                          settings, numbers)
    problems.sort(key=lambda p: p.severity != "error")
    report = ValidationReport(problems=problems, excluded_rows=excluded.drop(columns="_position"),
                              n_rows_read=n_read, n_rows_usable=n_usable, unusable_reasons=unusable,
                              generated_ids=generated)
    return CheckedFrame(frame=data, usable=usable, report=report, row_numbers=numbers,
                        roles=with_generated_ids(roles) if generated else roles)


def with_generated_ids(roles: ColumnRoles) -> ColumnRoles:
    """``roles`` with the generated ``account_id`` column first (the reason says where the ids come from)."""
    replaced = replace(roles, roles={Role.ACCOUNT_ID: Role.ACCOUNT_ID, **roles.roles},
                       reasons={Role.ACCOUNT_ID: GENERATED_ID_REASON, **roles.reasons})
    messages = getattr(roles, "reason_messages", None)
    if isinstance(messages, dict):
        object.__setattr__(replaced, "reason_messages", {Role.ACCOUNT_ID: GENERATED_ID_MESSAGE, **messages})
    return replaced


def _generated_ids_problem(n_rows: int) -> Problem:
    tried = ", ".join(f"'{s}'" for s in REQUIRED_SYNONYMS[Role.ACCOUNT_ID][:8])
    return Problem("warning", None, n_rows, [], Message(N_(
        "no account id column was found (names tried include {tried}); each row gets its row number in "
        "the file as id ('{example}' is row 2; {convention}). These ids hold only for this file: "
        "sort or re-export it and they change. {fix}"), tried=tried, example=f"{ID_PREFIX}2",
        convention=ROW_CONVENTION, fix=Message(CLI_ID_FIX)), code="generated_ids")


def _missing_column_problem(role: str) -> Problem:
    tried = REQUIRED_SYNONYMS[role]
    shown = ", ".join(f"'{s}'" for s in tried[:15])
    if len(tried) > 15:
        shown = Message(N_("{names} and {n} more"), names=shown, n=len(tried) - 15)
    return Problem("error", None, 0, [], Message(N_(
        "no column for {label} ({role}) was found; names tried (any case, umlauts and punctuation "
        "ignored): {names}. {fix}"), label=Message(_LABELS[role]), role=role, names=shown,
        fix=Message(CLI_MAPPING_FIX, role=role)), code="missing_column")


def _coerce_ids(values: pd.Series) -> pd.Series:
    def as_text(value: object) -> object:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    text = _strip_text_cells(values) if isinstance(values.dtype, pd.StringDtype) else values.map(as_text).astype("str")
    text = text.where(values.notna())
    return text.where(~missing_mask(text))


def _strip_text_cells(values: pd.Series) -> pd.Series:
    """A text column's cells stripped as Python strips them (what ``as_text`` does to a text cell), in
    one list comprehension: ~10x faster than a function call per cell (1.4 s at 1,000,000 ids)."""
    cells = values.to_numpy(dtype=object, na_value=None)
    return pd.Series([None if cell is None else cell.strip() for cell in cells], index=values.index, dtype="str")


def _coerce_numbers(values: pd.Series, unparsed: dict[int, str]) -> tuple[pd.Series, pd.Series]:
    """Float values (NaN when empty or bad) and a mask of cells that are there but are not numbers."""
    if pd.api.types.is_timedelta64_dtype(values):
        return values.dt.total_seconds() / 86400.0, pd.Series(False, index=values.index)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        bad = pd.Series(False, index=values.index)
    else:
        is_number = values.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)))
        is_number = is_number.astype(bool)
        as_text = values.map(lambda v: v if isinstance(v, str) else (None if v is None else repr(v)))
        as_text = as_text.where(~is_number & values.notna()).astype("str").where(~is_number & values.notna())
        parsed = parse_numbers(as_text)
        numbers = parsed.values.where(~is_number, pd.to_numeric(values.where(is_number), errors="coerce"))
        numbers = numbers.astype("float64")
        bad = pd.Series(False, index=values.index)
        bad[parsed.unparsed.index] = True
    for position in unparsed:
        if 0 <= position < len(bad):
            bad.iloc[position] = True
    return numbers, bad


def _run_schema(data: pd.DataFrame, present: list[str], bad_cells: dict[str, pd.Series]) -> pd.DataFrame:
    """Failure cases of the pandera schema: columns ``column``, ``check``, ``position``."""
    columns = {}
    if Role.ACCOUNT_ID in present:
        columns[Role.ACCOUNT_ID] = pa.Column(checks=[
            pa.Check(lambda s: s.notna(), ignore_na=False, name="empty_id"),
            pa.Check(lambda s: s.isna() | ~s.duplicated(keep=False), ignore_na=False, name="duplicate_id"),
        ], nullable=True, coerce=False)
    for role in (Role.BALANCE, Role.DAYS_PAST_DUE):
        if role in present:
            bad = bad_cells[role]
            columns[role] = pa.Column(checks=[
                pa.Check(lambda s, bad=bad: ~bad, ignore_na=False, name="not_a_number"),
                pa.Check(lambda s, bad=bad: s.notna() | bad, ignore_na=False, name="empty"),
                pa.Check(lambda s: ~np.isinf(s), name="infinite"),
                pa.Check(lambda s: s.ge(0) | np.isneginf(s), name="negative"),
            ], nullable=True, coerce=False)
    if not columns:
        return pd.DataFrame(columns=["column", "check", "position"])
    schema = pa.DataFrameSchema(columns, strict=False)
    try:
        schema.validate(data[list(columns)], lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna() & cases["column"].isin(list(columns))]
        return pd.DataFrame({"column": cases["column"].astype(str).to_numpy(),
                             "check": cases["check"].astype(str).to_numpy(),
                             "position": cases["index"].astype("int64").to_numpy()})
    return pd.DataFrame(columns=["column", "check", "position"])


def _excluded_rows(data: pd.DataFrame, roles: ColumnRoles, failures: pd.DataFrame, numbers) -> pd.DataFrame:
    if failures.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in (*EXCLUDED_COLUMNS, "_position")}).astype(
            {"row": "int64", "_position": "int64"})
    reasons = failures.assign(  # stored (run.json, CSV) in English; reason_text() translates for display
        source=failures["column"].map(roles.source_of),
        reason=[_reason(c, col).english for c, col in zip(failures["check"], failures["column"])])
    grouped = reasons.groupby("position", sort=True).agg(
        column=("source", lambda s: ", ".join(dict.fromkeys(s))),
        reason=("reason", lambda s: "; ".join(dict.fromkeys(s))))
    positions = grouped.index.to_numpy(dtype="int64")
    ids = data[Role.ACCOUNT_ID].iloc[positions].to_numpy() if Role.ACCOUNT_ID in data.columns \
        else np.full(len(positions), None)
    return pd.DataFrame({"row": numbers[positions], "account_id": ids, "column": grouped["column"].to_numpy(),
                         "reason": grouped["reason"].to_numpy(), "_position": positions})


def _row_problems(raw: dict[str, pd.Series], roles: ColumnRoles, failures: pd.DataFrame,
                  unparsed: dict, numbers) -> list[Problem]:
    problems = []
    for (column, check), group in failures.groupby(["column", "check"], sort=False):
        positions = group["position"].to_numpy()
        source = roles.source_of(column)
        values = raw[column].iloc[positions]
        cells = unparsed.get(column, {})
        texts = [cells.get(int(p), v) for p, v in zip(positions, values.tolist())]
        shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in texts]
        examples = ", ".join(f"'{v[:30]}'" for v in list(dict.fromkeys(shown))[:3])
        one, many = _MESSAGES.get(check, _OTHER_CHECK)
        text = Message(one if len(positions) == 1 else many, n=len(positions),
                       rows=rows_text(positions, numbers=numbers), examples=examples,
                       k=int(values.astype(str).nunique()), check=check)
        label = column_label(source, column)
        problems.append(Problem("error", source, len(positions), first_rows(positions, numbers=numbers),
                                Message(N_("{column}: {problem} [{convention}]"), column=label, problem=text,
                                        convention=ROW_CONVENTION), code=check))
    return problems


def column_label(source: str, column: str | None = None) -> Message:
    """"column 'Offener Betrag' (balance)" for a message; without the frame name when it is the same."""
    if column is None or source == column:
        return Message(N_("column '{name}'"), name=source)
    return Message(N_("column '{name}' ({column})"), name=source, column=column)


def _usability(n_read: int, n_usable: int, settings: ValidationSettings, unusable: list[str]) -> list[Problem]:
    excluded = n_read - n_usable
    if n_read == 0:
        unusable.append("no data rows")
        return [Problem("error", None, 0, [], Message(N_("the file has no data rows")), code="no_rows")]
    if n_usable == 0:
        unusable.append("no usable rows")
        return [Problem("error", None, excluded, [], Message(
            N_("all {n} rows have blocking problems; no row is usable"), n=n_read), code="no_usable_rows")]
    share = excluded / n_read
    if share > settings.max_excluded_share:
        unusable.append("too many rows excluded")
        return [Problem("error", None, excluded, [], Message(N_(
            "{excluded} of {read} rows ({share}) have blocking problems, more than the "
            "{allowed} allowed; fix the file before using it"), excluded=excluded, read=n_read,
            share=Percent(share), allowed=Percent(settings.max_excluded_share)), code="too_many_excluded")]
    if excluded:
        return [Problem("warning", None, excluded, [], Message(N_(
            "{excluded} of {read} rows ({share}) are excluded because of the errors above; "
            "the other {usable} rows are usable (see the excluded rows)"), excluded=excluded, read=n_read,
            share=Percent(share), usable=n_usable), code="rows_excluded")]
    return []


def _warnings(data, roles, unparsed, notes, skipped, settings, numbers) -> list[Problem]:
    problems = [Problem("warning", None, 0, [], note if isinstance(note, Message) else str(note), code="reader_note")
                for note in notes]
    for column, reason in skipped.items():
        if not any(f"'{column}'" in render(note, "en") for note in notes):
            problems.append(Problem("warning", str(column), 0, [], Message(
                N_("{column} {reason}"), column=column_label(str(column)), reason=reason), code="skipped_column"))
    problems += column_warnings(data, roles, unparsed, settings, numbers)
    return problems
