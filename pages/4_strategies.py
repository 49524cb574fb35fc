"""Strategies: the persona → strategy mapping under four-eyes review, with evidence and guardrails."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._state import current_run_view, get_store, portfolio_frame_for, require_role, show_error
from pages._strategy_ui import (
    EDITABLE_FIELDS,
    export_section,
    guardrail_lines,
    override_section,
    strategy_from_row,
)
from portfolio.errors import UserError
from strategy.proposals import propose_strategies

user = require_role()
store = get_store()
st.title("Strategies")
st.caption("One proposed strategy per persona. Analysts propose and edit; a manager who did not "
           "propose or edit it approves or rejects; compliance may veto. Only approved mappings "
           "are exported.")

run = current_run_view()
if run is None:
    st.info("No run yet: discover personas on the Personas page first.")
    st.stop()
portfolio = portfolio_frame_for(run)
switch = store.kill_switch()
if switch.get("on"):
    st.error(f"Exports are stopped (kill switch) by {switch.get('updated_by')}: {switch.get('reason')}")

# ---------------------------------------------------------------- propose (analyst)
if user.role == "analyst":
    missing = [pid for pid in run.persona_ids if store.find_mapping(run, pid) is None]
    if missing and st.button(f"Propose strategies for {len(missing)} persona(s) without one",
                             type="primary"):
        try:
            proposals = propose_strategies(run.profiles, accounts=run.accounts,
                                           portfolio_frame=portfolio)
            for proposal in proposals:
                if proposal.persona_id in missing:
                    store.propose(user, run, proposal.persona_id, proposal.strategy,
                                  evidence=proposal.evidence)
        except UserError as err:
            show_error(err)
        else:
            st.success(f"Proposed {len(missing)} strategies. A manager reviews them next.")
            st.rerun()

# ---------------------------------------------------------------- the mapping table
table = store.mappings_frame(run)
if table.empty or (table["state"] == "none").all():
    st.info("No strategy has been proposed for this run yet.")
    st.stop()
counts = table["state"].value_counts()
cols = st.columns(4)
for col, state in zip(cols, ["proposed", "approved", "rejected", "none"]):
    col.metric(state.capitalize() if state != "none" else "Without strategy", int(counts.get(state, 0)))

can_edit = user.role == "analyst"
shown = [c for c in ["persona_id", "persona_name", "size", "state", "guardrails_pass", *EDITABLE_FIELDS,
                     "proposed_by", "approved_by", "approved_at", "reason", "version"] if c in table]
edited = st.data_editor(
    table[shown], hide_index=True, use_container_width=True, key="mapping_editor",
    disabled=[c for c in shown if not (can_edit and c in EDITABLE_FIELDS)],
)
if can_edit and st.button("Save edits"):
    changed = edited[(edited[EDITABLE_FIELDS].astype(str) != table[EDITABLE_FIELDS].astype(str)).any(axis=1)]
    for row in changed.to_dict("records"):
        try:
            store.edit(user, run, int(row["persona_id"]), strategy_from_row(row),
                       expected_version=int(row["version"]))
        except UserError as err:
            show_error(err)
            break
    else:
        st.success(f"Saved {len(changed)} edit(s). Edited mappings go back to review.")
        st.rerun()

# ---------------------------------------------------------------- review one persona
st.subheader("Review")
names = dict(zip(table["persona_id"], table["persona_name"]))
pid = st.selectbox("Persona", [p for p in table["persona_id"] if table.set_index("persona_id").at[p, "state"] != "none"],
                   format_func=lambda p: f"{p} · {names[p]}")
mapping = store.get_mapping(run, int(pid), portfolio)
left, right = st.columns(2)
with left:
    st.markdown(f"**State:** {mapping.state} · version {mapping.version}")
    st.markdown(f"**Proposed by** {mapping.proposed_by or '—'} · **last edited by** "
                f"{mapping.last_edited_by or '—'}")
    if mapping.reason:
        st.markdown(f"**Reason:** {mapping.reason}")
    st.markdown("**Evidence**")
    for line in mapping.evidence or ["No evidence recorded."]:
        st.markdown(f"- {line}")
with right:
    st.markdown("**Guardrails**")
    for line in guardrail_lines(mapping.guardrails):
        st.markdown(line)

if user.role in ("manager", "compliance"):
    st.warning("Automation bias: this strategy was proposed from data and a model. Check the "
               "evidence and the guardrails yourself; approve only what you would defend without "
               "the app. You can reject, or override single accounts below.")
    blockers = mapping.approval_blockers(user)
    a, r = st.columns(2)
    if user.role == "manager":
        if blockers:
            a.caption("Approval not possible: " + "; ".join(blockers))
        elif a.button("Approve", type="primary", key=f"approve_{pid}"):
            try:
                store.approve(user, run, int(pid), expected_version=mapping.version, portfolio=portfolio)
            except UserError as err:
                show_error(err)
            else:
                st.rerun()
    reason = r.text_input("Reason for rejecting (required)", key=f"reason_{pid}")
    if r.button("Reject" if user.role == "manager" else "Veto (reject)", key=f"reject_{pid}"):
        try:
            store.reject(user, run, int(pid), reason, expected_version=mapping.version)
        except UserError as err:
            show_error(err)
        else:
            st.rerun()

with st.expander("History of this persona's strategy"):
    history = store.mapping_history(run.run_id, int(pid))
    st.dataframe(pd.DataFrame([{"version": h["strategy_version_id"], "by": h["created_by"],
                                "at": h["created_at"], "sha256": h["content_hash"][:12]}
                               for h in history]), hide_index=True)

if user.role in ("manager", "compliance"):
    override_section(store, user, run)
export_section(store, user, run, portfolio)
