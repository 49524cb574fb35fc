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

from app_pages._strategy_ui import flash, value_label
from core.errors import UserError
from core.formats import zone_label
from core.i18n import _
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
        raise StrategyError(_("{field} must be a number, got {value}").format(
            field=column_labels().get(name, name), value=repr(value))) from None
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
    if "approved_at" in shown:  # to the minute, in the reader's format and the browser's time zone
        from core.formats import format_timestamp

        language, zone = _reader()
        shown["approved_at"] = shown["approved_at"].map(
            lambda at: format_timestamp(at, language, zone) if isinstance(at, str) and at else None)
    if "state" in shown:  # shown in words; no edit reads it back
        shown["state"] = shown["state"].map(lambda state: value_label(state) if state != "none" else
                                            _("without strategy"))
    for name in _OPTIONAL_NUMBERS:
        if name in shown:
            shown[name] = pd.to_numeric(shown[name], errors="coerce")
    return shown


def _reader():
    """The page's language and the browser's time zone."""
    from app_pages._state import browser_time_zone, page_language
    from core.formats import time_zone

    return page_language(), time_zone(browser_time_zone())


def column_labels() -> dict[str, str]:
    """The table's column labels in the reader's language (keys are the strategy's field names)."""
    return {
        "persona_id": _("Persona"), "persona_name": _("Name"), "size": _("Accounts"), "state": _("State"),
        "guardrails_pass": _("Guardrails pass"), "channel": _("Channel"), "contact_start_hour": _("From (h)"),
        "contact_end_hour": _("Until (h)"), "contact_weekdays": _("Weekdays"), "contacts_per_week": _("Contacts / week"),
        "max_call_attempts_per_7_days": _("Max calls / 7 days"), "tone": _("Tone"), "offer": _("Offer"),
        "n_instalments": _("Instalments"), "discount_pct": _("Discount %"), "escalation": _("Escalation"),
        "escalation_after_days": _("Escalate after (days)"), "reminders_sent_before_escalation": _("Reminders first"),
        "credit_bureau_report": _("Credit bureau"), "includes_opt_out": _("Opt-out in messages"),
        "payment_method": _("Payment method"), "rationale": _("Rationale"), "proposed_by": _("Proposed by"),
        "approved_by": _("Approved by"), "approved_at": _("Approved at ({zone})").format(zone=zone_label(_reader()[1])), "reason": _("Reason (rejection)"),
        "version": _("Version"),
    }


def column_config() -> dict[str, Any]:
    """Labels, choices and ranges for the table, so most mistakes cannot be typed at all."""
    cc = st.column_config
    label = column_labels()
    return {
        "persona_id": cc.NumberColumn(label["persona_id"], format="%d"),
        "persona_name": cc.TextColumn(label["persona_name"]),
        "size": cc.NumberColumn(label["size"], format="%d"),
        "state": cc.TextColumn(label["state"]),
        "guardrails_pass": cc.CheckboxColumn(label["guardrails_pass"]),
        "channel": cc.SelectboxColumn(label["channel"], options=list(CHANNELS), format_func=value_label),
        "contact_start_hour": cc.NumberColumn(label["contact_start_hour"], min_value=0, max_value=23, step=1),
        "contact_end_hour": cc.NumberColumn(label["contact_end_hour"], min_value=1, max_value=24, step=1),
        "contact_weekdays": cc.TextColumn(label["contact_weekdays"], help=_("Comma-separated, e.g. mon,tue,wed")),
        "contacts_per_week": cc.NumberColumn(label["contacts_per_week"], min_value=0, max_value=21, step=1),
        "max_call_attempts_per_7_days": cc.NumberColumn(label["max_call_attempts_per_7_days"], min_value=0, step=1),
        "tone": cc.SelectboxColumn(label["tone"], options=list(TONES), format_func=value_label),
        "offer": cc.SelectboxColumn(label["offer"], options=list(OFFERS), format_func=value_label),
        "n_instalments": cc.NumberColumn(label["n_instalments"], min_value=2, max_value=60, step=1),
        "discount_pct": cc.NumberColumn(label["discount_pct"], min_value=0.0, max_value=99.0),
        "escalation": cc.SelectboxColumn(label["escalation"], options=list(ESCALATIONS), format_func=value_label),
        "escalation_after_days": cc.NumberColumn(label["escalation_after_days"], min_value=1, step=1),
        "reminders_sent_before_escalation": cc.NumberColumn(label["reminders_sent_before_escalation"], min_value=0,
                                                            step=1),
        "credit_bureau_report": cc.CheckboxColumn(label["credit_bureau_report"]),
        "includes_opt_out": cc.CheckboxColumn(label["includes_opt_out"]),
        "payment_method": cc.TextColumn(label["payment_method"]),
        "rationale": cc.TextColumn(label["rationale"], width="large"),
        "proposed_by": cc.TextColumn(label["proposed_by"]),
        "approved_by": cc.TextColumn(label["approved_by"]),
        "approved_at": cc.TextColumn(label["approved_at"]),
        "reason": cc.TextColumn(label["reason"]),
        "version": cc.NumberColumn(label["version"], format="%d"),
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
            st.error(_("Persona {id}: {problem}").format(id=pid, problem=escape_markdown(err)))
            if err.attempted is not None:
                with st.expander(_("Your unsaved strategy for persona {id} (copy it before reloading)").format(id=pid)):
                    st.code(json.dumps(err.attempted.to_dict(), indent=2), language="json")
        except UserError as err:
            failed = True
            st.error("\n\n".join([_("Persona {id}: {problem}").format(id=pid, problem=line) for line in
                                  (getattr(err, "lines", None) or [str(err)])]))
        else:
            saved.append(pid)
    if saved:
        flash("success", _("Saved edits to persona(s) {ids}; edited mappings go back to review.").format(
            ids=", ".join(map(str, saved))))
    if not failed:
        if not saved:
            flash("info", _("Nothing to save: no strategy field was changed."))
        reset_editor()
    return not failed
