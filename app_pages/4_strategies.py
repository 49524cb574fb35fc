"""Strategies: the persona → strategy mapping under four-eyes review, with evidence and guardrails."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages._state import (browser_time_zone, current_run_view, get_store, page_language, portfolio_frame_for,
                              require_role, show_error)
from app_pages._mapping_table import (
    EDITABLE_FIELDS,
    column_config,
    editing_base,
    editor_key,
    reset_editor,
    save_edits,
    table_for_editing,
)
from app_pages._challenger_ui import challenger_section
from app_pages._strategy_ui import (
    export_section,
    flash,
    guardrail_lines,
    override_section,
    review_actions,
    review_queue_section,
    show_flash,
    value_label,
    veto_notice,
)
from core.charts import fit_width
from core.errors import UserError
from core.formats import format_count, format_percent, format_timestamp, localise_chart, time_zone, zone_label
from core.i18n import _
from core.text import defang_markdown, escape_markdown
from personas.names import display_names
from personas.views import settled_verdict as persona_verdict
from portfolio.currency import currency_of_run
from strategy.context import roles_of_run
from strategy.export import rulepack_for
from strategy.journey_view import journey_table, persona_preview
from strategy.proposals import propose_strategies
from strategy.review_queue import review_plan
from strategy.texts import Text, render

user = require_role()
store = get_store()
language = page_language()
st.title(_("Strategies"))
st.caption(_("One proposed strategy per persona. Analysts propose and edit; a manager who did not "
             "propose or edit it approves or rejects the version shown; compliance may veto, and a "
             "veto stands until compliance lifts it. Only approved mappings are exported; account "
             "overrides count once a second person approved them."))
show_flash()

try:
    run = current_run_view()
    if run is not None:
        _accounts = run.accounts  # read now, so a damaged run is reported here (not st.write magic)
except UserError as err:
    show_error(err)
    st.stop()
if run is None:
    st.info(_("No run yet: find personas on the Personas page first."))
    st.stop()
portfolio = portfolio_frame_for(run)
st.caption(_("Run `{run}` · {n} personas").format(run=run.run_id, n=len(run.persona_ids)) + " · "
           + (_("guardrails checked against the portfolio's accounts") if portfolio is not None else
              _("guardrails checked against the persona profiles (open the run's portfolio on the "
                "Portfolio page for account-level checks)")))
settled, verdict = persona_verdict(run.meta.get("metrics") or {}, display_names(run.profiles, language))
if settled is False:  # a strategy per persona is only as firm as the personas
    st.warning(_("Before approving: {verdict}").format(verdict=verdict))
switch = store.kill_switch()
if switch.get("on"):
    st.error(_("Exports are stopped (kill switch) by {user}: {reason}").format(
        user=escape_markdown(switch.get("updated_by")), reason=escape_markdown(switch.get("reason"))))

# ---------------------------------------------------------------- propose (analyst)
if user.role == "analyst":
    missing = [pid for pid in run.persona_ids if store.find_mapping(run, pid) is None]
    if missing and st.button(_("Propose strategies for {n} persona(s) without one").format(n=len(missing)),
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
            flash("success", _("Proposed strategies for {n} persona(s). A manager reviews them next.").format(
                n=len(done)))
            reset_editor()
            st.rerun()

# ---------------------------------------------------------------- the mapping table
table = store.mappings_frame(run, portfolio)  # same guardrail check as approval
if table.empty or (table["state"] == "none").all():
    st.info(_("No strategy has been proposed for this run yet.")
            + ("" if user.role == "analyst" else " " + _("An analyst proposes them.")))
    st.stop()
counts = table["state"].value_counts()
cols = st.columns(4)
STATE_METRICS = {"proposed": _("Proposed"), "approved": _("Approved"), "rejected": _("Rejected"),
                 "none": _("Without strategy")}
for col, state in zip(cols, ["proposed", "approved", "rejected", "none"]):
    col.metric(STATE_METRICS[state], int(counts.get(state, 0)))

if user.role == "analyst":
    st.caption(_("Edit strategy fields in the table, then save. Edited mappings go back to review; "
                 "an approval is void once its strategy changes."))
    base = table_for_editing(editing_base(table, run.run_id))
    edited = st.data_editor(
        base, hide_index=True, width="stretch", key=editor_key(run.run_id),
        column_config=column_config(),
        disabled=[c for c in base.columns if c not in EDITABLE_FIELDS],
    )
    save, reload = st.columns([1, 4])
    if save.button(_("Save edits"), type="primary") and save_edits(store, user, run, base, edited):
        st.rerun()
    if reload.button(_("Reload the table (discard unsaved edits)")):
        reset_editor()
        st.rerun()
else:
    st.dataframe(table_for_editing(table), hide_index=True, width="stretch",
                 column_config=column_config())

# ---------------------------------------------------------------- review one persona
st.subheader(_("Review"))
with_strategy = [int(p) for p, s in zip(table["persona_id"], table["state"]) if s != "none"]
names = dict(zip(table["persona_id"].astype(int), table["persona_name"]))
states = dict(zip(table["persona_id"].astype(int), table["state"]))
if st.session_state.get("review_persona") not in with_strategy:
    st.session_state["review_persona"] = next(
        (p for p in with_strategy if states[p] == "proposed"), with_strategy[0])
pid = st.selectbox(_("Persona"), with_strategy, key="review_persona",
                   format_func=lambda p: f"{p} · {names[p]} ({value_label(states[p])})")
mapping = store.get_mapping(run, pid, portfolio)
left, right = st.columns(2)
with left:
    st.markdown(_("**State:** {state} · version {version} · hash `{hash}`").format(
        state=value_label(mapping.state), version=mapping.version, hash=(mapping.version_hash or "")[:16]))
    profile = run.profile(pid)
    shares = []
    if profile.get("share_accounts") is not None:
        shares.append(_("{share} of accounts").format(share=format_percent(profile["share_accounts"], language)))
    if profile.get("share_balance") is not None:
        shares.append(_("{share} of the balance").format(share=format_percent(profile["share_balance"], language)))
    if shares:
        st.markdown(_("**Share of the portfolio:** {shares}").format(shares=" · ".join(shares)))
    st.markdown(_("**Proposed by** {proposer} · **last edited by** {editor}").format(
        proposer=escape_markdown(mapping.proposed_by or "—"), editor=escape_markdown(mapping.last_edited_by or "—")))
    if mapping.state == "approved" and mapping.approval_valid is False:
        st.warning(_("The approval no longer matches this strategy or persona definition; it is "
                     "void and needs a new review."))
    if mapping.reason:
        st.markdown(_("**Reason given when rejected:** {reason}").format(reason=escape_markdown(render(mapping.reason))))
    st.markdown(_("**Evidence**"))
    for line in mapping.evidence or [_("No evidence recorded.")]:
        st.markdown(f"- {defang_markdown(render(line))}")  # stored lines with a code in the reader's language
with right:
    st.markdown(_("**Guardrails**"))
    if not mapping.guardrails:
        st.caption(_("No guardrail results for this persona."))
    failed = [r for r in mapping.guardrails if not r.passed]
    passed = [r for r in mapping.guardrails if r.passed]
    for line in guardrail_lines(failed):
        st.markdown(line)
    if passed:
        with st.expander(_("{n} of {total} guardrails pass").format(n=len(passed), total=len(mapping.guardrails))):
            for line in guardrail_lines(passed):
                st.markdown(line)
    if user.role in ("manager", "compliance"):
        review_actions(store, user, run, mapping, portfolio)
    else:
        veto_notice(store, user, run, mapping)
    challenger_section(store, user, run, mapping, portfolio, language)

# ---------------------------------------------------------------- journey and per-account preview
st.markdown(_("**Journey** (earliest day of each step after the start; each account's dates move off "
              "Sundays and public holidays at export)"))
pack = rulepack_for(run)
steps = journey_table(mapping.strategy, pack)
if steps.empty:
    st.caption(_("This strategy has no steps."))
else:
    steps = steps.assign(channel_label=steps["channel"].map(value_label), tone_label=steps["tone"].map(value_label))
    timeline = alt.Chart(steps).mark_circle(size=220).encode(
        x=alt.X("day:Q", title=_("day of the journey")),
        y=alt.Y("step:N", sort=None, title=None, axis=alt.Axis(labelLimit=0)),
        color=alt.Color("channel_label:N", title=_("channel")),
        tooltip=[alt.Tooltip("day:Q", title=_("day")), alt.Tooltip("step:N", title=_("step")),
                 alt.Tooltip("action:N", title=_("action")), alt.Tooltip("channel_label:N", title=_("channel")),
                 alt.Tooltip("tone_label:N", title=_("tone"))],
    ).properties(height=max(140, 40 * len(steps)))
    timeline_chart = localise_chart(timeline, language)
    st.altair_chart(fit_width(timeline_chart), width="stretch")
    st.caption(_("Rulepack: {pack}").format(pack=escape_markdown(render(Text(pack.label)))))
preview = persona_preview(run, pid, mapping.strategy, pack)
if preview is None:
    st.caption(_("This run keeps no portfolio copy, so no per-account preview: find the personas again."))
else:
    st.markdown(_("**Per-account preview:** rules change the steps of {changed} of {accounts} accounts of this "
                  "persona (first {shown} shown)").format(changed=format_count(preview.attrs["changed"], language),
                                                          accounts=format_count(preview.attrs["accounts"], language),
                                                          shown=format_count(len(preview), language)))
    st.dataframe(preview, hide_index=True, width="stretch", column_config={
        "account_id": _("Account id"), "rules changed": _("Rules that changed the steps"),
        "steps executed": _("Steps executed"), "needs_review": st.column_config.CheckboxColumn(_("Needs review"))})

with st.expander(_("History of this persona's strategy")):
    history = store.mapping_history(run.run_id, pid)
    zone = time_zone(browser_time_zone())
    st.dataframe(pd.DataFrame([{"version id": h["strategy_version_id"], "by": h["created_by"],
                                "at": format_timestamp(h["created_at"], language, zone),
                                "channel": value_label(h["strategy"].channel),
                                "offer": value_label(h["strategy"].offer),
                                "escalation": value_label(h["strategy"].escalation),
                                "sha256": h["content_hash"][:12]} for h in history]),
                 hide_index=True, width="stretch", column_config={
                     "version id": _("Version id"), "by": _("By"), "at": _("Time ({zone})").format(zone=zone_label(zone)),
                     "channel": _("Channel"), "offer": _("Offer"), "escalation": _("Escalation"),
                     "sha256": _("Content hash (sha256)")})

if user.role in ("manager", "compliance"):
    override_section(store, user, run)
review_queue_section(store, user, run, review_plan(run, store))
export_section(store, user, run, portfolio)
