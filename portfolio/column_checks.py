"""Warnings about whole columns: gaps, constant columns, unusual amounts, too many categories.

These never exclude a row; they tell the analyst what to look at. Computed on the usable rows.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.errors import Message, Number, Percent
from core.i18n import N_
from portfolio.report import ROW_CONVENTION, Problem, first_rows, rows_text
from portfolio.roles import ColumnRoles, Role

if TYPE_CHECKING:
    from portfolio.validate import ValidationSettings

_CHECKED_ROLES = {Role.FEATURE, Role.TARGET, Role.SENSITIVE, Role.BALANCE, Role.DAYS_PAST_DUE, Role.ACCOUNT_ID}


def column_warnings(data: pd.DataFrame, roles: ColumnRoles, unparsed: dict,
                    settings: "ValidationSettings", numbers=None) -> list[Problem]:
    """Warnings for every column of ``data`` (canonical names for the required columns).

    ``numbers`` maps row positions to file row numbers (see :func:`portfolio.report.first_rows`).
    """
    problems: list[Problem] = []
    for column in data.columns:
        role = roles.roles.get(column)
        source = roles.source_of(column)
        reason = roles.reasons.get(column, "")
        if role == Role.EXCLUDED and reason.startswith(("constant", "all values are empty")):
            problems.append(Problem("warning", source, 0, [], Message(
                N_("column '{column}' is excluded: {reason}"), column=source,
                reason=_reason_of(roles, column)), code="constant_column"))
            continue
        if role in _CHECKED_ROLES:
            problems += _missing_share(data[column], source, settings.missing_share, numbers)
        if role not in Role.REQUIRED and _is_numeric(data[column]):
            problems += _infinite_values(data[column], source, numbers)
        if column in unparsed and role not in Role.REQUIRED:
            problems.append(_unparsed_cells(source, unparsed[column], numbers))
        if role == Role.FEATURE and not _is_numeric(data[column]):
            levels = _nunique(data[column])
            if levels > settings.high_cardinality:
                problems.append(Problem("warning", source, levels, [], Message(N_(
                    "column '{column}' has {levels} categories (more than {limit}); "
                    "rare categories carry little information, consider grouping them"), column=source,
                    levels=levels, limit=str(settings.high_cardinality)), code="high_cardinality"))
    if Role.BALANCE in data.columns and _is_numeric(data[Role.BALANCE]):
        problems += _balance_outliers(data[Role.BALANCE], roles.source_of(Role.BALANCE), settings.outlier_iqr,
                                     numbers)
    if Role.DAYS_PAST_DUE in data.columns and _is_numeric(data[Role.DAYS_PAST_DUE]):
        problems += _implausible_dpd(data[Role.DAYS_PAST_DUE], roles.source_of(Role.DAYS_PAST_DUE),
                                     settings.max_plausible_dpd, numbers)
    return problems


def _reason_of(roles: ColumnRoles, column: str):
    """The column's role reason as a message when the column model made one, else its text."""
    messages = getattr(roles, "reason_messages", None) or {}
    return messages.get(column) or roles.reasons.get(column, "")


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _nunique(values: pd.Series) -> int:
    try:
        return int(values.nunique())
    except TypeError:
        return int(values.astype("str").nunique())


def _positions(mask: pd.Series) -> np.ndarray:
    """Row positions in the file (the frame's index is the 0-based data row position)."""
    return mask.index[mask.fillna(False).to_numpy(dtype=bool)].to_numpy(dtype="int64")


def _missing_share(values: pd.Series, source: str, limit: float, numbers) -> list[Problem]:
    if len(values) == 0:
        return []
    missing = values.isna()
    share = float(missing.mean())
    if share <= limit:
        return []
    positions = _positions(missing)
    return [Problem("warning", source, len(positions), first_rows(positions, numbers=numbers), Message(N_(
        "column '{column}': {share} of values are empty ({n} of {total} rows, e.g. {rows}; {convention})"),
        column=source, share=Percent(share), n=len(positions), total=len(values),
        rows=rows_text(positions, numbers=numbers), convention=ROW_CONVENTION), code="missing_share")]


def _infinite_values(values: pd.Series, source: str, numbers) -> list[Problem]:
    infinite = pd.Series(np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)), index=values.index)
    if not infinite.any():
        return []
    positions = _positions(infinite)
    return [Problem("warning", source, len(positions), first_rows(positions, numbers=numbers), Message(N_(
        "column '{column}': {n} values are infinite ({rows}; {convention}); they are treated as empty"),
        column=source, n=len(positions), rows=rows_text(positions, numbers=numbers), convention=ROW_CONVENTION),
        code="infinite")]


def _unparsed_cells(source: str, cells: dict[int, str], numbers) -> Problem:
    positions = sorted(cells)
    examples = ", ".join(f"'{cells[p][:30]}'" for p in positions[:3])
    return Problem("warning", source, len(positions), first_rows(positions, numbers=numbers), Message(N_(
        "column '{column}': {n} values are not numbers (e.g. {examples}; {rows}; {convention}); "
        "they are treated as empty"), column=source, n=len(positions), examples=examples,
        rows=rows_text(positions, numbers=numbers), convention=ROW_CONVENTION), code="not_a_number")


def _balance_outliers(balance: pd.Series, source: str, factor: float, numbers) -> list[Problem]:
    """Balances above Q3 + factor * IQR on the log scale (balances are right-skewed)."""
    finite = balance[np.isfinite(balance) & (balance >= 0)]
    if len(finite) < 20:
        return []
    logged = np.log1p(finite)
    q1, q3 = np.percentile(logged, [25, 75])
    fence = float(np.expm1(q3 + factor * (q3 - q1)))
    high = balance > fence
    if not high.any() or q3 == q1:
        return []
    positions = _positions(high)
    return [Problem("warning", source, len(positions), first_rows(positions, numbers=numbers), Message(N_(
        "column '{column}' (balance): {n} balances are unusually large (above {fence}, "
        "the robust upper fence Q3 + {factor} IQR on a log scale; {rows}; {convention}); "
        "check for typing or unit errors, they are kept"), column=source, n=len(positions),
        fence=Number(fence), factor=f"{factor:g}", rows=rows_text(positions, numbers=numbers),
        convention=ROW_CONVENTION), code="outlier")]


def _implausible_dpd(dpd: pd.Series, source: str, limit: float, numbers) -> list[Problem]:
    high = dpd > limit
    if not high.any():
        return []
    positions = _positions(high)
    return [Problem("warning", source, len(positions), first_rows(positions, numbers=numbers), Message(N_(
        "column '{column}' (days past due): {n} values are above {limit} days ({rows}; {convention}); "
        "check for date errors or time-barred debts, they are kept"), column=source, n=len(positions),
        limit=Number(limit, 0), rows=rows_text(positions, numbers=numbers), convention=ROW_CONVENTION),
        code="outlier")]
