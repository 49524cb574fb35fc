"""The editable persona → strategy table of the Strategies page (analysts).

Edits are applied to the table as it was when editing began and saved with the versions it
showed, so a change someone else saved meanwhile is refused by the store ("changed by … reload")
and the unsaved attempt is shown, never silently overwritten.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from app_pages._strategy_ui import flash
from core.errors import UserError
from core.text import escape_markdown
from strategy.catalogue import CHANNELS, ESCALATIONS, OFFERS, TONES, Strategy, StrategyError
from strategy.mapping_view import StaleMappingError

# Strategy fields an analyst may edit in the table (the rest of the row is state and people).
EDITABLE_FIELDS = [
    "channel", "contact_start_hour", "contact_end_hour", "contact_weekdays", "contacts_per_week",
    "max_call_attempts_per_7_days", "tone", "offer", "n_instalments", "discount_pct", "escalation",
    "escalation_after_days", "reminders_sent_before_escalation", "credit_bureau_report",
    "includes_opt_out", "payment_method", "rationale",
]
_INT_FIELDS = {"contact_start_hour", "contact_end_hour", "contacts_per_week",
               "max_call_attempts_per_7_days", "n_instalments", "escalation_after_days",
               "reminders_sent_before_escalation"}
_OPTIONAL_NUMBERS = ["n_instalments", "discount_pct", "escalation_after_days"]
_BOOL_FIELDS = ("credit_bureau_report", "includes_opt_out")
SHOWN_COLUMNS = ["persona_id", "persona_name", "size", "state", "guardrails_pass", *EDITABLE_FIELDS,
                 "proposed_by", "approved_by", "approved_at", "reason", "version"]



# ---------------------------------------------------------------- the mapping table
def _clean(name: str, value: Any) -> Any:
    """Turn an edited table cell back into the strategy field's type (empty cells become None)."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    if isinstance(value, str):
        value = value.strip()
    try:
        if name in _INT_FIELDS:
            number = float(value)
            if number != int(number):
                raise ValueError
            return int(number)
        if name == "discount_pct":
            return float(value)
    except (TypeError, ValueError):
        raise StrategyError(f"{name} must be a number, got {value!r}") from None
    if name in _BOOL_FIELDS:
        return bool(value) if not isinstance(value, str) else value.lower() in ("true", "1", "yes")
    return value


def strategy_from_row(row: dict[str, Any]) -> Strategy:
    """The strategy an analyst typed into one table row (raises StrategyError when inconsistent)."""
    values = {name: _clean(name, row.get(name)) for name in EDITABLE_FIELDS}
    defaults = Strategy()
    for name in ("contact_weekdays", "tone", "offer", "escalation", "channel", *_BOOL_FIELDS,
                 "reminders_sent_before_escalation", "contacts_per_week",
                 "max_call_attempts_per_7_days", "contact_start_hour", "contact_end_hour"):
        if values[name] is None:
            values[name] = getattr(defaults, name)
    if values["rationale"] is None:
        values["rationale"] = ""
    return Strategy.from_dict(values)


def table_for_editing(table: pd.DataFrame) -> pd.DataFrame:
    """The columns shown, optional numbers as numbers (empty = not used)."""
    shown = table[[c for c in SHOWN_COLUMNS if c in table]].copy()
    for name in _OPTIONAL_NUMBERS:
        if name in shown:
            shown[name] = pd.to_numeric(shown[name], errors="coerce")
    return shown


def column_config() -> dict[str, Any]:
    """Labels, choices and ranges for the table, so most mistakes cannot be typed at all."""
    cc = st.column_config
    return {
        "persona_id": cc.NumberColumn("Persona", format="%d"),
        "persona_name": cc.TextColumn("Name"),
        "size": cc.NumberColumn("Accounts", format="%d"),
        "state": cc.TextColumn("State"),
        "guardrails_pass": cc.CheckboxColumn("Guardrails pass"),
        "channel": cc.SelectboxColumn("Channel", options=list(CHANNELS)),
        "contact_start_hour": cc.NumberColumn("From (h)", min_value=0, max_value=23, step=1),
        "contact_end_hour": cc.NumberColumn("Until (h)", min_value=1, max_value=24, step=1),
        "contact_weekdays": cc.TextColumn("Weekdays", help="Comma-separated, e.g. mon,tue,wed"),
        "contacts_per_week": cc.NumberColumn("Contacts / week", min_value=0, max_value=21, step=1),
        "max_call_attempts_per_7_days": cc.NumberColumn("Max calls / 7 days", min_value=0, step=1),
        "tone": cc.SelectboxColumn("Tone", options=list(TONES)),
        "offer": cc.SelectboxColumn("Offer", options=list(OFFERS)),
        "n_instalments": cc.NumberColumn("Instalments", min_value=2, max_value=60, step=1),
        "discount_pct": cc.NumberColumn("Discount %", min_value=0.0, max_value=99.0),
        "escalation": cc.SelectboxColumn("Escalation", options=list(ESCALATIONS)),
        "escalation_after_days": cc.NumberColumn("Escalate after (days)", min_value=1, step=1),
        "reminders_sent_before_escalation": cc.NumberColumn("Reminders first", min_value=0, step=1),
        "credit_bureau_report": cc.CheckboxColumn("Credit bureau"),
        "includes_opt_out": cc.CheckboxColumn("Opt-out in messages"),
        "payment_method": cc.TextColumn("Payment method"),
        "rationale": cc.TextColumn("Rationale", width="large"),
        "proposed_by": cc.TextColumn("Proposed by"),
        "approved_by": cc.TextColumn("Approved by"),
        "approved_at": cc.TextColumn("Approved at (UTC)"),
        "reason": cc.TextColumn("Reason (rejection)"),
        "version": cc.NumberColumn("Version", format="%d"),
    }


def editor_key(run_id: str) -> str:
    """Widget key of the mapping editor; a new generation discards pending edits."""
    return f"mapping_editor_{run_id}_{st.session_state.get('editor_generation', 0)}"


def reset_editor() -> None:
    st.session_state["editor_generation"] = st.session_state.get("editor_generation", 0) + 1


def editing_base(fresh: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """The table as it was when the analyst began editing (fresh while nothing is pending)."""
    state = st.session_state.get(editor_key(run_id)) or {}
    pending = any(state.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))
    base_key = f"mapping_base_{editor_key(run_id)}"
    if not pending or base_key not in st.session_state:
        st.session_state[base_key] = fresh
    return st.session_state[base_key]


def _same(a: Any, b: Any) -> bool:
    empty = [v is None or (isinstance(v, float) and v != v) for v in (a, b)]
    return all(empty) or (not any(empty) and str(a) == str(b))


def save_edits(store, user, run, base: pd.DataFrame, edited: pd.DataFrame) -> bool:
    """Save each changed row with the version it had when editing began; report each outcome."""
    saved, failed = [], False
    for before, after in zip(base.to_dict("records"), edited.to_dict("records")):
        pid = int(after["persona_id"])
        if all(_same(before.get(n), after.get(n)) for n in EDITABLE_FIELDS):
            continue
        try:
            strategy = strategy_from_row(after)
            store.edit(user, run, pid, strategy, expected_version=int(before["version"]))
        except StaleMappingError as err:
            failed = True
            st.error(f"Persona {pid}: {escape_markdown(err)}")
            if err.attempted is not None:
                with st.expander(f"Your unsaved strategy for persona {pid} (copy it before reloading)"):
                    st.code(json.dumps(err.attempted.to_dict(), indent=2), language="json")
        except UserError as err:
            failed = True
            st.error("\n\n".join([f"Persona {pid}: {line}" for line in
                                  (getattr(err, "lines", None) or [str(err)])]))
        else:
            saved.append(pid)
    if saved:
        flash("success", f"Saved edits to persona(s) {', '.join(map(str, saved))}; "
                         "edited mappings go back to review.")
    if not failed:
        if not saved:
            flash("info", "Nothing to save: no strategy field was changed.")
        reset_editor()
    return not failed
