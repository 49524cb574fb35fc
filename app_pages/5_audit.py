"""Audit: the hash-chained log of who decided what, its verification, exports and the kill switch."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._state import current_run_view, get_store, require_role, show_error
from app_pages._strategy_ui import flash, flash_error, show_flash
from core.errors import UserError
from core.text import escape_markdown
from strategy.escape import escape_frame
from strategy.reconcile import reconcile

user = require_role()
store = get_store()
st.title("Audit")
st.caption("Every run, proposal, edit, approval, rejection, override, export, sign-in and kill-switch "
           "change is appended to a log in which each entry carries the hash of the one before. "
           "Editing, deleting or reordering any entry makes verification fail.")
show_flash()


def _details(details: dict) -> str:
    """``key: value; …`` instead of a Python dict, so a reviewer can read it."""
    return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in details.items())


result = store.verify_audit()
if result.ok:
    st.success(f"Audit log intact: {result.n_entries:,} entries verified; head hash "
               f"`{result.head_hash[:16]}…`, anchored outside the database up to entry "
               f"{result.anchored_seq or 0}")
    for line in reconcile(store):
        st.error(f"The database and the audit log disagree: {escape_markdown(line)}. Exports are "
                 "refused until an administrator has investigated.")
else:
    where = f" at entry {result.first_bad_seq}" if result.first_bad_seq else ""
    st.error(f"Audit log verification FAILED{where}: {escape_markdown(result.message)}. "
             "Entries from there on cannot be trusted; keep the database file as it is and tell "
             "the administrator.")

# ---------------------------------------------------------------- the log, filterable
entries = store.audit_entries(newest_first=True)
log = pd.DataFrame([{"seq": e.seq, "time (UTC)": e.time[:19].replace("T", " "), "user": e.user,
                     "role": e.role, "action": e.action, "run": e.run_id, "persona": e.persona_id,
                     "details": _details(e.details), "content sha256": (e.content_hash or "")[:12],
                     "entry hash": e.entry_hash[:12]} for e in entries])
st.subheader("Log")
if log.empty:
    st.caption("The log is empty.")
else:
    log["persona"] = log["persona"].astype("Int64")
    f1, f2, f3 = st.columns(3)
    users = f1.multiselect("User", sorted(log["user"].unique()))
    actions = f2.multiselect("Action", sorted(log["action"].unique()))
    runs = f3.multiselect("Run", sorted(log["run"].dropna().unique()))
    shown = log
    for column, chosen in (("user", users), ("action", actions), ("run", runs)):
        if chosen:
            shown = shown[shown[column].isin(chosen)]
    st.caption(f"{len(shown):,} of {len(log):,} entries, newest first.")
    st.dataframe(shown, hide_index=True, width="stretch")
    # User names typed at sign-in and reasons are free text: escape formula triggers (CWE-1236).
    st.download_button("Download these entries (CSV)", escape_frame(shown).to_csv(index=False),
                       "audit_log.csv", "text/csv")

st.subheader("Export history")
history = store.export_history()
if history:
    st.dataframe(pd.DataFrame([{"time (UTC)": e.time[:19].replace("T", " "), "user": e.user,
                                "run": e.run_id, "format": e.details.get("format"),
                                "level": e.details.get("level"), "file": e.details.get("file"),
                                "rows": e.details.get("rows"),
                                "file sha256": (e.content_hash or "")[:12]} for e in history]),
                 hide_index=True, width="stretch")
else:
    st.caption("Nothing has been exported yet.")

# ---------------------------------------------------------------- oversight actions
try:
    run = current_run_view()
except UserError as err:
    show_error(err)
    run = None
if user.role == "compliance" and run is not None:
    st.subheader("Model sign-off")
    info = store.run_info(run.run_id) or {}
    if info.get("model_signed_off_by"):
        st.info(f"Model of run {run.run_id} signed off by "
                f"{escape_markdown(info['model_signed_off_by'])} at {info['model_signed_off_at']}.")
    else:
        st.caption(f"The model and explanations of run {run.run_id} are not signed off yet.")
    note = st.text_input("Note for the sign-off (what you checked)", key="sign_off_note")
    if st.button("Sign off this run's model and explanations"):
        try:
            store.sign_off_model(user, run, note)
        except UserError as err:
            show_error(err)
        else:
            flash("success", f"Sign-off of run {run.run_id} recorded in the audit log.")
            st.rerun()


def _set_switch(on: bool) -> None:
    """Callback: set the switch to what the button said, even if someone flipped it meanwhile."""
    try:
        store.set_kill_switch(user, on, st.session_state.get("kill_reason", ""))
    except UserError as err:
        flash_error(err)
        return
    st.session_state["kill_reason"] = ""
    flash("success", "All exports are stopped." if on else "Exports are allowed again.")


if user.role in ("manager", "compliance", "admin"):
    st.subheader("Kill switch")
    switch = store.kill_switch()
    if switch.get("on"):
        st.error(f"Exports are **stopped** since {switch.get('updated_at', '')[:19].replace('T', ' ')} "
                 f"UTC by {escape_markdown(switch.get('updated_by'))}: "
                 f"{escape_markdown(switch.get('reason'))}")
    else:
        st.markdown("Exports are **allowed**. Stopping them refuses every export (app and command "
                    "line) until someone allows them again.")
    st.text_input("Reason (required to stop exports)", key="kill_reason")
    if switch.get("on"):
        st.button("Allow exports again", on_click=_set_switch, args=(False,))
    else:
        st.button("Stop all exports", type="primary", on_click=_set_switch, args=(True,))
