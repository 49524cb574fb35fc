"""Audit: the hash-chained log of who decided what, its verification, exports and the kill switch."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._state import (browser_time_zone, current_run_view, get_store, page_language, require_role,
                               restore_language, role_label, show_error)
from app_pages._strategy_ui import flash, flash_error, show_flash
from core.errors import UserError
from core.formats import csv_download, format_count, format_timestamp, time_zone, zone_label
from core.i18n import N_, _
from core.text import escape_markdown
from strategy.escape import escape_frame
from strategy.reconcile import reconcile
from strategy.texts import render, render_stored

#: Audit actions in words (``strategy.audit.ACTIONS``); an action not listed is shown as recorded.
ACTION_LABELS = {
    "run_registered": N_("run registered"), "run_created": N_("run created"), "persona_edited": N_("persona edited"),
    "proposed": N_("strategy proposed"), "draft_saved": N_("draft saved"), "edited": N_("strategy edited"),
    "approved": N_("approved"), "approval_refused": N_("approval refused"), "rejected": N_("rejected"),
    "approval_voided": N_("approval voided"), "overridden": N_("account override"), "exported": N_("exported"),
    "export_refused": N_("export refused"), "login": N_("signed in"), "login_failed": N_("failed sign-in"),
    "login_refused": N_("sign-in refused"), "logout": N_("signed out"), "session_ended": N_("session ended"),
    "kill_switch_on": N_("exports stopped"), "kill_switch_off": N_("exports allowed again"),
    "user_added": N_("user added"), "user_changed": N_("user changed"), "user_removed": N_("user removed"),
    "setup_token_issued": N_("setup token issued"), "model_signed_off": N_("model signed off"),
    "veto_lifted": N_("veto lifted"), "override_approved": N_("override approved"),
    "override_declined": N_("override declined"), "account_cleared": N_("account cleared"),
    "challenger_proposed": N_("challenger proposed"), "challenger_approved": N_("challenger approved"),
    "challenger_approval_refused": N_("challenger approval refused"),
    "challenger_rejected": N_("challenger rejected"), "challenger_ended": N_("challenger ended"),
    "carried_over": N_("approval carried over"), "sent_back_to_review": N_("sent back to review"),
    "veto_carried_over": N_("veto carried over"), "experiment_carried_over": N_("experiment carried over"),
}


def action_label(action: str) -> str:
    return _(ACTION_LABELS[action]) if action in ACTION_LABELS else action


user = require_role()
store = get_store()
language = page_language()
zone = time_zone(browser_time_zone())
time_header = _("Time ({zone})").format(zone=zone_label(zone))
st.title(_("Audit"))
st.caption(_("Every run, proposal, edit, approval, rejection, override, export, sign-in and kill-switch "
             "change is appended to a log in which each entry carries the hash of the one before. "
             "Editing, deleting or reordering any entry makes verification fail."))
show_flash()


#: Keys of the audit details in words; the stored keys stay as they are (the log is hashed).
DETAIL_LABELS = {
    "reason": N_("reason"), "reasons": N_("reasons"), "state": N_("state"), "note": N_("note"),
    "strategy_version_id": N_("strategy version"), "approval_voided": N_("approval voided"),
    "account_id": N_("account"), "override_id": N_("override"), "status": N_("status"), "format": N_("format"),
    "level": N_("level"), "file": N_("file"), "rows": N_("rows"), "veto": N_("veto"), "base_run_id": N_("base run"),
    "approved_by": N_("approved by"), "approved_at": N_("approved at"), "experiment_id": N_("experiment"),
}


def _detail_label(key: str) -> str:
    return _(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key


def _details(details: dict) -> str:
    """``key: value; …`` instead of a Python dict, so a reviewer can read it. A text the app stored with
    its language-neutral form beside it (``reason`` and ``reason_text``) is shown in the reader's language;
    an entry written before those forms existed shows its English."""
    parts = []
    for k, v in details.items():
        if k.endswith("_text") and k[:-5] in details:
            continue
        if f"{k}_text" in details:
            v = render_stored(v, details[f"{k}_text"])
        parts.append(f"{_detail_label(k)}: {', '.join(map(str, v)) if isinstance(v, list) else v}")
    return "; ".join(parts)


result = store.verify_audit()
if result.ok:
    st.success(_("Audit log intact: {n} entries verified; head hash `{head}…`, anchored outside the database "
                 "up to entry {anchored}").format(n=format_count(result.n_entries), head=result.head_hash[:16],
                                                  anchored=result.anchored_seq or 0))
    for line in reconcile(store):
        st.error(_("The database and the audit log disagree: {problem}. Exports are refused until an "
                   "administrator has investigated.").format(problem=escape_markdown(render(line))))
else:
    where = _(" at entry {seq}").format(seq=result.first_bad_seq) if result.first_bad_seq else ""
    st.error(_("Audit log verification FAILED{where}: {problem}. Entries from there on cannot be trusted; keep "
               "the database file as it is and tell the administrator.").format(
        where=where, problem=escape_markdown(render(result.message))))

# ---------------------------------------------------------------- the log, filterable
entries = store.audit_entries(newest_first=True)
log = pd.DataFrame([{"seq": e.seq, "time": format_timestamp(e.time, language, zone), "user": e.user,
                     "role": role_label(e.role), "action": e.action, "what": action_label(e.action),
                     "run": e.run_id, "persona": e.persona_id,
                     "details": _details(e.details), "content sha256": (e.content_hash or "")[:12],
                     "entry hash": e.entry_hash[:12]} for e in entries])
LOG_COLUMNS = {
    "seq": st.column_config.NumberColumn(_("No."), format="%d"),
    "time": st.column_config.TextColumn(time_header), "user": st.column_config.TextColumn(_("User")),
    "role": st.column_config.TextColumn(_("Role")), "what": st.column_config.TextColumn(_("Action")),
    "run": st.column_config.TextColumn(_("Run")), "persona": st.column_config.NumberColumn(_("Persona")),
    "details": st.column_config.TextColumn(_("Details"), width="large"),
    "content sha256": st.column_config.TextColumn(_("Content SHA-256")),
    "entry hash": st.column_config.TextColumn(_("Entry hash")),
}
st.subheader(_("Log"))
if log.empty:
    st.caption(_("The log is empty."))
else:
    log["persona"] = log["persona"].astype("Int64")
    f1, f2, f3 = st.columns(3)
    users = f1.multiselect(_("User"), sorted(log["user"].unique()))
    actions = f2.multiselect(_("Action"), sorted(log["action"].unique()), format_func=action_label)
    runs = f3.multiselect(_("Run"), sorted(log["run"].dropna().unique()))
    shown = log
    for column, chosen in (("user", users), ("action", actions), ("run", runs)):
        if chosen:
            shown = shown[shown[column].isin(chosen)]
    st.caption(_("{n} of {total} entries, newest first.").format(n=format_count(len(shown)),
                                                                 total=format_count(len(log))))
    st.dataframe(shown, hide_index=True, width="stretch", column_config=LOG_COLUMNS,
                 column_order=[c for c in shown.columns if c != "action"])
    # User names typed at sign-in and reasons are free text: escape formula triggers (CWE-1236).
    exported = shown.drop(columns=["what"]).rename(columns={"time": time_header})
    st.download_button(_("Download these entries (CSV)"), **csv_download(escape_frame(exported), "audit_log",
                                                                         language))

st.subheader(_("Export history"))
history = store.export_history()
if history:
    st.dataframe(pd.DataFrame([{"time": format_timestamp(e.time, language, zone), "user": e.user,
                                "run": e.run_id, "format": e.details.get("format"),
                                "level": e.details.get("level"), "file": e.details.get("file"),
                                "rows": e.details.get("rows"),
                                "file sha256": (e.content_hash or "")[:12]} for e in history]),
                 hide_index=True, width="stretch", column_config={
                     "time": st.column_config.TextColumn(time_header),
                     "user": st.column_config.TextColumn(_("User")), "run": st.column_config.TextColumn(_("Run")),
                     "format": st.column_config.TextColumn(_("Format")),
                     "level": st.column_config.TextColumn(_("Level")),
                     "file": st.column_config.TextColumn(_("File")),
                     "rows": st.column_config.NumberColumn(_("Rows")),
                     "file sha256": st.column_config.TextColumn(_("File SHA-256"))})
else:
    st.caption(_("Nothing has been exported yet."))

# ---------------------------------------------------------------- oversight actions
try:
    run = current_run_view()
except UserError as err:
    show_error(err)
    run = None
if user.role == "compliance" and run is not None:
    st.subheader(_("Model sign-off"))
    info = store.run_info(run.run_id) or {}
    if info.get("model_signed_off_by"):
        st.info(_("Model of run {run} signed off by {name} at {time}.").format(
            run=run.run_id, name=escape_markdown(info["model_signed_off_by"]),
            time=format_timestamp(info["model_signed_off_at"], language, zone, state_zone=True)))
    else:
        st.caption(_("The model and explanations of run {run} are not signed off yet.").format(run=run.run_id))
    note = st.text_input(_("Note for the sign-off (what you checked)"), key="sign_off_note")
    if st.button(_("Sign off this run's model and explanations")):
        try:
            store.sign_off_model(user, run, note)
        except UserError as err:
            show_error(err)
        else:
            flash("success", _("Sign-off of run {run} recorded in the audit log.").format(run=run.run_id))
            st.rerun()


def _set_switch(on: bool) -> None:
    """Callback: set the switch to what the button said, even if someone flipped it meanwhile."""
    restore_language()  # callbacks run before app.py has set this rerun's language
    try:
        store.set_kill_switch(user, on, st.session_state.get("kill_reason", ""))
    except UserError as err:
        flash_error(err)
        return
    st.session_state["kill_reason"] = ""
    flash("success", _("All exports are stopped.") if on else _("Exports are allowed again."))


if user.role in ("manager", "compliance", "admin"):
    st.subheader(_("Kill switch"))
    switch = store.kill_switch()
    if switch.get("on"):
        st.error(_("Exports are **stopped** since {time} by {name}: {reason}").format(
            time=format_timestamp(switch.get("updated_at"), language, zone, state_zone=True),
            name=escape_markdown(switch.get("updated_by")), reason=escape_markdown(switch.get("reason"))))
    else:
        st.markdown(_("Exports are **allowed**. Stopping them refuses every export (app and command "
                      "line) until someone allows them again."))
    st.text_input(_("Reason (required to stop exports)"), key="kill_reason")
    if switch.get("on"):
        st.button(_("Allow exports again"), on_click=_set_switch, args=(False,))
    else:
        st.button(_("Stop all exports"), type="primary", on_click=_set_switch, args=(True,))
