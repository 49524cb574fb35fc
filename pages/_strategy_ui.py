"""Widgets shared by the Strategies, Audit and Users pages.

The editable mapping table, guardrail lines, the review actions (approve / reject), per-account
overrides, export, and one-shot messages that survive ``st.rerun``. Every save passes the version
the user *saw*: actions run as button callbacks whose arguments were fixed when the button was
drawn, and table edits are applied to the table as it was when editing began, so a change made by
someone else meanwhile is refused by the store ("changed by … reload") instead of overwritten.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from portfolio.errors import UserError
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


# ---------------------------------------------------------------- messages across a rerun
def flash(kind: str, text: str) -> None:
    """Queue a message (``success``, ``info``, ``warning``, ``error``) for the next run."""
    st.session_state.setdefault("_flash", []).append((kind, text))


def flash_error(err: UserError) -> None:
    flash("error", "\n\n".join(getattr(err, "lines", None) or [str(err)]))


def show_flash() -> None:
    """Show and forget the queued messages."""
    for kind, text in st.session_state.pop("_flash", []):
        getattr(st, kind)(text)


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
            st.error(f"Persona {pid}: {err}")
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


# ---------------------------------------------------------------- review of one persona
def guardrail_lines(results) -> list[str]:
    """One Markdown line per guardrail: a tick or a cross, the message and its legal source."""
    if not results:
        return ["No guardrail results."]
    lines = []
    for r in results:
        source = "" if not r.source or r.source in r.message else f" :gray[({r.source})]"
        lines.append(f"{'✅' if r.passed else '❌'} {r.message}{source}")
    return lines


def _next_pending(store, run, after: int) -> int | None:
    pending = [m.persona_id for m in store.list_mappings(run) if m.state == "proposed"]
    later = [p for p in pending if p > after]
    return (later or pending or [None])[0]


def _approve(store, user, run, pid: int, version: int, portfolio) -> None:
    try:
        store.approve(user, run, pid, expected_version=version, portfolio=portfolio)
    except UserError as err:
        flash_error(err)
        return
    flash("success", f"Persona {pid} approved by {user.username} (version {version}).")
    nxt = _next_pending(store, run, pid)
    if nxt is not None:
        st.session_state["review_persona"] = nxt


def _reject(store, user, run, pid: int, version: int) -> None:
    reason = st.session_state.get(f"reason_{pid}", "")
    try:
        store.reject(user, run, pid, reason, expected_version=version)
    except UserError as err:
        flash_error(err)
        return
    st.session_state[f"reason_{pid}"] = ""
    flash("success", f"Persona {pid} rejected; the analyst sees your reason.")


def review_actions(store, user, run, mapping, portfolio) -> None:
    """Approve (managers) and reject / veto (managers, compliance) for the mapping shown."""
    pid, version = mapping.persona_id, mapping.version
    if user.role == "manager":
        blockers = mapping.approval_blockers(user)
        if mapping.state == "approved":
            st.success(f"Approved by {mapping.approved_by} at {mapping.approved_at}.")
        elif blockers:
            st.warning("Approval not possible: " + "; ".join(blockers))
        else:
            st.warning("Automation bias: this strategy was proposed from data and a model. Check "
                       "the evidence and the guardrails yourself; approve only what you would "
                       "defend without the app. You can reject it, or override single accounts.")
            st.button("Approve", type="primary", key=f"approve_{pid}", on_click=_approve,
                      args=(store, user, run, pid, version, portfolio))
    allowed = ("proposed", "approved") if user.role == "compliance" else ("proposed",)
    if mapping.state in allowed:
        st.text_input("Reason for rejecting (required)", key=f"reason_{pid}")
        st.button("Reject" if user.role == "manager" else "Veto (reject)", key=f"reject_{pid}",
                  on_click=_reject, args=(store, user, run, pid, version))


# ---------------------------------------------------------------- overrides and export
def override_section(store, user, run) -> None:
    """Per-account override of persona and/or channel, with a required reason."""
    with st.expander("Override one account"):
        st.caption("Look the account up by its id. The override is recorded in the audit log and "
                   "applied in the account-level export.")
        account_id = st.text_input("Account id", key="override_account").strip()
        persona = st.selectbox("Move to persona (optional)", [None, *run.persona_ids],
                               key="override_persona")
        channel = st.selectbox("Contact only by (optional)", [None, *CHANNELS], key="override_channel")
        reason = st.text_input("Reason (required)", key="override_reason")
        if st.button("Record override", key="override_button"):
            try:
                strategy = None
                if channel is not None:
                    pid = persona if persona is not None else _persona_of(run, account_id)
                    mapping = store.find_mapping(run, pid) if pid is not None else None
                    base = mapping.strategy if mapping is not None else Strategy()
                    strategy = base.with_changes(channel=channel)
                store.override_account(user, run, account_id, reason=reason,
                                       persona_id=persona, strategy=strategy)
            except UserError as err:
                st.error("\n\n".join(getattr(err, "lines", None) or [str(err)]))
            else:
                st.success(f"Override for account {account_id} recorded.")


def _persona_of(run, account_id: str) -> int | None:
    rows = run.accounts.loc[run.accounts["account_id"] == str(account_id).strip(), "persona_id"]
    return int(rows.iloc[0]) if len(rows) else None


def export_section(store, user, run, portfolio) -> None:
    """Export approved mappings; refusals are shown with their reasons."""
    from strategy.export import export_mappings

    st.subheader("Export")
    st.caption("Only approved mappings are exported, each with its approver and a provenance block "
               "(run, data hash, model metrics, audit-log head). Text cells are protected against "
               "formula injection.")
    fmt = st.radio("Format", ["csv", "xlsx", "json"], horizontal=True, key="export_format")
    level = st.radio("Level", ["personas", "accounts"], horizontal=True, key="export_level",
                     format_func=lambda v: "one row per persona" if v == "personas" else
                     "one row per account (for the dialler / letter system)")
    if st.button("Prepare export", key="export_button"):
        st.session_state.pop("export_ready", None)
        try:
            result = export_mappings(store, run, user, fmt=fmt, level=level, portfolio=portfolio)
        except UserError as err:
            st.error("Export refused:\n\n" + "\n\n".join(
                f"- {line}" for line in (getattr(err, "lines", None) or [str(err)])))
            return
        st.session_state["export_ready"] = result
    result = st.session_state.get("export_ready")
    if result is None or result.run_id != run.run_id:
        return
    if store.kill_switch().get("on"):  # prepared before the switch went on: not handed out
        st.session_state.pop("export_ready", None)
        return
    st.download_button(f"Download {result.filename}", result.content, file_name=result.filename,
                       mime=result.mime, type="primary", key="export_download")
    if result.provenance_content:
        st.download_button("Download its provenance (JSON)", result.provenance_content,
                           file_name=result.filename.rsplit(".", 1)[0] + ".provenance.json",
                           mime="application/json", key="export_provenance")
