"""Strategies: the persona → strategy mapping under four-eyes review, with evidence and guardrails."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages._state import current_run_view, get_store, portfolio_frame_for, require_role, show_error
from app_pages._mapping_table import (
    EDITABLE_FIELDS,
    column_config,
    editing_base,
    editor_key,
    reset_editor,
    save_edits,
    table_for_editing,
)
from app_pages._strategy_ui import (
    export_section,
    flash,
    guardrail_lines,
    override_section,
    review_actions,
    review_queue_section,
    show_flash,
    veto_notice,
)
from core.errors import UserError
from core.text import defang_markdown, escape_markdown
from portfolio.currency import currency_of_run
from strategy.context import roles_of_run
from strategy.export import rulepack_for
from strategy.journey_view import journey_table, persona_preview
from strategy.proposals import propose_strategies
from strategy.review_queue import review_plan

user = require_role()
store = get_store()
st.title("Strategies")
st.caption("One proposed strategy per persona. Analysts propose and edit; a manager who did not "
           "propose or edit it approves or rejects the version shown; compliance may veto, and a "
           "veto stands until compliance lifts it. Only approved mappings are exported; account "
           "overrides count once a second person approved them.")
show_flash()

try:
    run = current_run_view()
    if run is not None:
        _ = run.accounts  # read now, so a damaged run is reported here (not st.write magic)
except UserError as err:
    show_error(err)
    st.stop()
if run is None:
    st.info("No run yet: discover personas on the Personas page first.")
    st.stop()
portfolio = portfolio_frame_for(run)
st.caption(f"Run `{run.run_id}` · {len(run.persona_ids)} personas · "
           + ("guardrails checked against the portfolio's accounts" if portfolio is not None else
              "guardrails checked against the persona profiles (open the run's portfolio on the "
              "Portfolio page for account-level checks)"))
switch = store.kill_switch()
if switch.get("on"):
    st.error(f"Exports are stopped (kill switch) by {escape_markdown(switch.get('updated_by'))}: "
             f"{escape_markdown(switch.get('reason'))}")

# ---------------------------------------------------------------- propose (analyst)
if user.role == "analyst":
    missing = [pid for pid in run.persona_ids if store.find_mapping(run, pid) is None]
    if missing and st.button(f"Propose strategies for {len(missing)} persona(s) without one",
                             type="primary"):
        done = []
        try:
            proposals = propose_strategies(run.profiles, accounts=run.accounts,
                                           portfolio_frame=portfolio, roles=roles_of_run(run.meta),
                                           currency=currency_of_run(run.meta))
            for proposal in proposals:
                if proposal.persona_id in missing:
                    store.propose(user, run, proposal.persona_id, proposal.strategy,
                                  evidence=proposal.evidence, expected_version=0)
                    done.append(proposal.persona_id)
        except UserError as err:
            show_error(err)
        else:
            flash("success", f"Proposed strategies for {len(done)} persona(s). A manager reviews "
                             "them next.")
            reset_editor()
            st.rerun()

# ---------------------------------------------------------------- the mapping table
table = store.mappings_frame(run, portfolio)  # same guardrail check as approval
if table.empty or (table["state"] == "none").all():
    st.info("No strategy has been proposed for this run yet."
            + ("" if user.role == "analyst" else " An analyst proposes them."))
    st.stop()
counts = table["state"].value_counts()
cols = st.columns(4)
for col, state in zip(cols, ["proposed", "approved", "rejected", "none"]):
    col.metric(state.capitalize() if state != "none" else "Without strategy", int(counts.get(state, 0)))

if user.role == "analyst":
    st.caption("Edit strategy fields in the table, then save. Edited mappings go back to review; "
               "an approval is void once its strategy changes.")
    base = table_for_editing(editing_base(table, run.run_id))
    edited = st.data_editor(
        base, hide_index=True, width="stretch", key=editor_key(run.run_id),
        column_config=column_config(),
        disabled=[c for c in base.columns if c not in EDITABLE_FIELDS],
    )
    save, reload = st.columns([1, 4])
    if save.button("Save edits", type="primary") and save_edits(store, user, run, base, edited):
        st.rerun()
    if reload.button("Reload the table (discard unsaved edits)"):
        reset_editor()
        st.rerun()
else:
    st.dataframe(table_for_editing(table), hide_index=True, width="stretch",
                 column_config=column_config())

# ---------------------------------------------------------------- review one persona
st.subheader("Review")
with_strategy = [int(p) for p, s in zip(table["persona_id"], table["state"]) if s != "none"]
names = dict(zip(table["persona_id"].astype(int), table["persona_name"]))
states = dict(zip(table["persona_id"].astype(int), table["state"]))
if st.session_state.get("review_persona") not in with_strategy:
    st.session_state["review_persona"] = next(
        (p for p in with_strategy if states[p] == "proposed"), with_strategy[0])
pid = st.selectbox("Persona", with_strategy, key="review_persona",
                   format_func=lambda p: f"{p} · {names[p]} ({states[p]})")
mapping = store.get_mapping(run, pid, portfolio)
left, right = st.columns(2)
with left:
    st.markdown(f"**State:** {mapping.state} · version {mapping.version} · hash "
                f"`{(mapping.version_hash or '')[:16]}`")
    profile = run.profile(pid)
    shares = [f"{float(v):.1%} of {what}" for what, v in (("accounts", profile.get("share_accounts")),
                                                       ("balance", profile.get("share_balance")))
              if v is not None]
    if shares:
        st.markdown(f"**Share of the portfolio:** {' · '.join(shares)}")
    st.markdown(f"**Proposed by** {escape_markdown(mapping.proposed_by or '—')} · **last edited "
                f"by** {escape_markdown(mapping.last_edited_by or '—')}")
    if mapping.state == "approved" and mapping.approval_valid is False:
        st.warning("The approval no longer matches this strategy or persona definition; it is "
                   "void and needs a new review.")
    if mapping.reason:
        st.markdown(f"**Reason given when rejected:** {escape_markdown(mapping.reason)}")
    st.markdown("**Evidence**")
    for line in mapping.evidence or ["No evidence recorded."]:
        st.markdown(f"- {defang_markdown(line)}")
with right:
    st.markdown("**Guardrails**")
    if not mapping.guardrails:
        st.caption("No guardrail results for this persona.")
    failed = [r for r in mapping.guardrails if not r.passed]
    passed = [r for r in mapping.guardrails if r.passed]
    for line in guardrail_lines(failed):
        st.markdown(line)
    if passed:
        with st.expander(f"{len(passed)} of {len(mapping.guardrails)} guardrails pass"):
            for line in guardrail_lines(passed):
                st.markdown(line)
    if user.role in ("manager", "compliance"):
        review_actions(store, user, run, mapping, portfolio)
    else:
        veto_notice(store, user, run, mapping)

# ---------------------------------------------------------------- journey and per-account preview
st.markdown("**Journey** (earliest day of each step after the start; each account's dates move off "
            "Sundays and public holidays at export)")
pack = rulepack_for(run)
steps = journey_table(mapping.strategy, pack)
if steps.empty:
    st.caption("This strategy has no steps.")
else:
    timeline = alt.Chart(steps).mark_circle(size=220).encode(
        x=alt.X("day:Q", title="day of the journey"),
        y=alt.Y("step:N", sort=None, title=None),
        color=alt.Color("channel:N", title="channel"),
        tooltip=["day", "step", "action", "channel", "tone"],
    ).properties(height=max(140, 40 * len(steps)))
    st.altair_chart(timeline, width="stretch")
    st.caption(f"Rulepack: {escape_markdown(pack.label)}")
preview = persona_preview(run, pid, mapping.strategy, pack)
if preview is None:
    st.caption("This run keeps no portfolio copy, so no per-account preview: run the discovery again.")
else:
    st.markdown(f"**Per-account preview:** rules change the steps of {preview.attrs['changed']:,} of "
                f"{preview.attrs['accounts']:,} accounts of this persona (first {len(preview):,} shown)")
    st.dataframe(preview, hide_index=True, width="stretch")

with st.expander("History of this persona's strategy"):
    history = store.mapping_history(run.run_id, pid)
    st.dataframe(pd.DataFrame([{"version id": h["strategy_version_id"], "by": h["created_by"],
                                "at (UTC)": h["created_at"][:19].replace("T", " "), "channel": h["strategy"].channel,
                                "offer": h["strategy"].offer, "escalation": h["strategy"].escalation,
                                "sha256": h["content_hash"][:12]} for h in history]),
                 hide_index=True, width="stretch")

if user.role in ("manager", "compliance"):
    override_section(store, user, run)
review_queue_section(store, user, run, review_plan(run, store))
export_section(store, user, run, portfolio)
