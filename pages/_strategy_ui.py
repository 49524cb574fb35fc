"""Widgets shared by the Strategies page: the editable fields, guardrail lines, overrides and export."""
from __future__ import annotations

from typing import Any

import streamlit as st

from pages._state import show_error
from portfolio.errors import UserError
from strategy.catalogue import CHANNELS, Strategy

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


def _clean(name: str, value: Any) -> Any:
    """Turn an edited table cell back into the strategy field's type (empty cells become None)."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    if name in _INT_FIELDS:
        return int(float(value))
    if name == "discount_pct":
        return float(value)
    if name in ("credit_bureau_report", "includes_opt_out"):
        return bool(value) if not isinstance(value, str) else value.strip().lower() in ("true", "1", "yes")
    return value


def strategy_from_row(row: dict[str, Any]) -> Strategy:
    """The strategy an analyst typed into one table row (raises StrategyError when inconsistent)."""
    values = {name: _clean(name, row.get(name)) for name in EDITABLE_FIELDS}
    defaults = Strategy()
    for name in ("contact_weekdays", "rationale", "tone", "offer", "escalation", "channel"):
        if values[name] is None:
            values[name] = getattr(defaults, name) if name != "rationale" else ""
    for name in ("credit_bureau_report", "includes_opt_out", "reminders_sent_before_escalation",
                 "contacts_per_week", "max_call_attempts_per_7_days", "contact_start_hour",
                 "contact_end_hour"):
        if values[name] is None:
            values[name] = getattr(defaults, name)
    return Strategy.from_dict(values)


def guardrail_lines(results) -> list[str]:
    """One Markdown line per guardrail: a tick or a cross, the message and the legal source."""
    if not results:
        return ["No guardrail results."]
    return [f"{'✅' if r.passed else '❌'} {r.message}  \n<small>{r.source}</small>" for r in results]


def override_section(store, user, run) -> None:
    """Per-account override of persona and/or channel, with a required reason."""
    with st.expander("Override one account"):
        st.caption("Look the account up by its id. The override is recorded in the audit log and "
                   "applied in the account-level export.")
        account_id = st.text_input("Account id", key="override_account")
        persona = st.selectbox("Move to persona (optional)", [None, *run.persona_ids], key="override_persona")
        channel = st.selectbox("Contact only by (optional)", [None, *CHANNELS], key="override_channel")
        reason = st.text_input("Reason (required)", key="override_reason")
        if st.button("Record override", key="override_button"):
            strategy = None
            if channel is not None:
                pid = persona if persona is not None else _persona_of(run, account_id)
                base = store.get_mapping(run, pid).strategy if pid is not None else Strategy()
                strategy = base.with_changes(channel=channel)
            try:
                store.override_account(user, run, account_id.strip(), reason=reason,
                                       persona_id=persona, strategy=strategy)
            except UserError as err:
                show_error(err)
            else:
                st.success(f"Override for account {account_id.strip()} recorded.")


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
        try:
            result = export_mappings(store, user, run, fmt=fmt, level=level, portfolio=portfolio)
        except UserError as err:
            show_error(err)
            return
        st.session_state["export_ready"] = result
    result = st.session_state.get("export_ready")
    if result is not None and result.run_id == run.run_id:
        st.download_button(f"Download {result.filename}", result.content, file_name=result.filename,
                           mime=result.mime, type="primary", key="export_download")
