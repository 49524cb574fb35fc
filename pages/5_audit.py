"""Audit: the hash-chained log of who decided what, its verification, exports and the kill switch."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._state import current_run_view, get_store, require_role, show_error
from portfolio.errors import UserError

user = require_role()
store = get_store()
st.title("Audit")
st.caption("Every run, proposal, edit, approval, rejection, override, export, sign-in and kill-switch "
           "change is appended to a log in which each entry carries the hash of the one before. "
           "Editing, deleting or reordering any entry makes verification fail.")

result = store.verify_audit()
if result.ok:
    st.success(f"Audit log intact: {result.n_entries:,} entries verified; head hash `{result.head_hash[:16]}…`")
else:
    st.error(f"Audit log verification FAILED at entry {result.first_bad_seq}: {result.message}")

# ---------------------------------------------------------------- the log, filterable
entries = store.audit_entries(newest_first=True)
log = pd.DataFrame([{"seq": e.seq, "time (UTC)": e.time, "user": e.user, "role": e.role,
                     "action": e.action, "run": e.run_id, "persona": e.persona_id,
                     "details": str(e.details), "content sha256": (e.content_hash or "")[:12],
                     "entry hash": e.entry_hash[:12]} for e in entries])
if not log.empty:
    f1, f2, f3 = st.columns(3)
    users = f1.multiselect("User", sorted(log["user"].unique()))
    actions = f2.multiselect("Action", sorted(log["action"].unique()))
    runs = f3.multiselect("Run", sorted(log["run"].dropna().unique()))
    shown = log
    for column, chosen in (("user", users), ("action", actions), ("run", runs)):
        if chosen:
            shown = shown[shown[column].isin(chosen)]
    st.dataframe(shown, hide_index=True, use_container_width=True)
    st.download_button("Download the audit log (CSV)", shown.to_csv(index=False), "audit_log.csv", "text/csv")

st.subheader("Export history")
history = store.export_history()
if history:
    st.dataframe(pd.DataFrame([{"time (UTC)": e.time, "user": e.user, "run": e.run_id, **e.details}
                               for e in history]), hide_index=True, use_container_width=True)
else:
    st.caption("Nothing has been exported yet.")

# ---------------------------------------------------------------- oversight actions
run = current_run_view()
if user.role == "compliance" and run is not None:
    st.subheader("Model sign-off")
    info = store.run_info(run.run_id) or {}
    if info.get("model_signed_off_by"):
        st.info(f"Model of run {run.run_id} signed off by {info['model_signed_off_by']} "
                f"at {info['model_signed_off_at']}.")
    note = st.text_input("Note for the sign-off (what you checked)")
    if st.button("Sign off this run's model and explanations"):
        try:
            store.sign_off_model(user, run, note)
        except UserError as err:
            show_error(err)
        else:
            st.rerun()

if user.role in ("manager", "compliance", "admin"):
    st.subheader("Kill switch")
    switch = store.kill_switch()
    st.markdown(f"Exports are **{'stopped' if switch.get('on') else 'allowed'}**"
                + (f" (since {switch.get('updated_at')} by {switch.get('updated_by')}: {switch.get('reason')})"
                   if switch.get("on") else "."))
    reason = st.text_input("Reason", key="kill_reason")
    label = "Allow exports again" if switch.get("on") else "Stop all exports"
    if st.button(label, type="secondary" if switch.get("on") else "primary"):
        try:
            store.set_kill_switch(user, not switch.get("on"), reason)
        except UserError as err:
            show_error(err)
        else:
            st.rerun()
