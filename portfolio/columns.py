"""Every column of a portfolio with its role, its meaning and the reason, as shown and corrected.

``personas validate`` prints these rows (``--json``: the ``columns`` list), the Portfolio page shows
them in an editable table, and :func:`mapping_changes` turns the user's corrections back into
mapping entries (the same mapping ``--mapping FILE.json`` reads), so both ways end in one place:
:func:`portfolio.roles.detect_roles`.

Meanings come from the column model when it has them (``ColumnRoles.meanings``); without them the
meaning is ``None``.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

#: Columns of :func:`column_table`.
TABLE_COLUMNS = ("name", "column", "role", "meaning", "reason", "generated")


def meanings_of(roles: Any) -> dict[str, str]:
    """Column -> meaning from the column model (empty when it has none)."""
    meanings = getattr(roles, "meanings", None) or {}
    inner = getattr(meanings, "meanings", None)  # a ColumnMeanings object
    return dict(inner if isinstance(inner, dict) else meanings)


def meaning_options() -> list[str]:
    """Every meaning a user may give a column (empty until the column model defines meanings)."""
    try:
        from portfolio.meanings import ALL_MEANINGS
    except ImportError:  # the column model without meanings: nothing to choose from
        return []
    return list(ALL_MEANINGS)


def column_records(roles: Any, report: Any = None) -> list[dict[str, Any]]:
    """One dict per column, in file order: ``name`` (as in the file), ``column`` (name in the
    portfolio frame, e.g. ``balance``), ``role``, ``meaning`` (or ``None``), ``reason`` (role, then
    meaning reason) and ``generated`` (True for an ``account_id`` made from row numbers)."""
    meanings = meanings_of(roles)
    meaning_reasons = dict(getattr(roles, "meaning_reasons", None) or {})
    generated = bool(getattr(report, "generated_ids", False))
    records = []
    for column, role in roles.roles.items():
        reason = roles.reasons.get(column, "")
        extra = meaning_reasons.get(column, "")
        if extra and extra.rsplit(": ", 1)[-1] not in reason:  # say the evidence once
            reason = f"{reason}; meaning {extra}" if reason else f"meaning {extra}"
        records.append({"name": str(roles.source_of(column)), "column": str(column), "role": role,
                        "meaning": meanings.get(column), "reason": reason,
                        "generated": generated and column == "account_id"})
    return records


def column_table(roles: Any, report: Any = None) -> pd.DataFrame:
    """:func:`column_records` as a table (meaning empty where there is none)."""
    table = pd.DataFrame(column_records(roles, report), columns=list(TABLE_COLUMNS))
    table["meaning"] = table["meaning"].astype("object").where(table["meaning"].notna(), "")
    return table


def mapping_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, Any]:
    """Mapping entries for the rows whose role or meaning the user changed.

    A role change alone is ``{"<name>": "<role>"}`` (the plain mapping format); a changed meaning is
    ``{"<name>": {"meaning": ...}}``, with ``"role"`` too when that changed as well (an emptied
    meaning is ``None``: the column has none).
    Generated columns (not in the file) are left out.
    """
    changes: dict[str, Any] = {}
    for old, new in zip(before.to_dict("records"), after.to_dict("records")):
        if old.get("generated"):
            continue
        role_changed = str(new["role"]) != str(old["role"])
        old_meaning, new_meaning = _meaning_text(old.get("meaning")), _meaning_text(new.get("meaning"))
        if new_meaning != old_meaning:
            entry = {"role": str(new["role"])} if role_changed else {}
            changes[str(old["name"])] = {**entry, "meaning": new_meaning or None}
        elif role_changed:
            changes[str(old["name"])] = str(new["role"])
    return changes


def _meaning_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()
