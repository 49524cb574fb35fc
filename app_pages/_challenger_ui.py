"""Champion/challenger on the Strategies page: an analyst proposes a challenger journey beside the persona's
champion, a manager who did not propose it approves it (the version shown), a manager or compliance rejects
it. The store enforces every rule (``strategy.experiment_workflow``); this module only lays out widgets."""
from __future__ import annotations

import streamlit as st

from app_pages._strategy_ui import _moment, _restore_language, flash, flash_error, value_label
from core.errors import UserError
from core.formats import format_percent
from core.i18n import _
from core.text import escape_markdown
from strategy.carry_over import EXPERIMENT_BACK_TO_REVIEW
from strategy.texts import render


def _propose(store, user, run, pid: int, portfolio) -> None:
    _restore_language()  # a callback runs before app.py sets the language
    state = st.session_state
    try:
        store.propose_challenger(user, run, pid, challenger_share=state[f"ch_share_{pid}"] / 100,
                                 holdout_share=state[f"ch_holdout_{pid}"] / 100,
                                 planned_days=int(state[f"ch_days_{pid}"]),
                                 min_effect=state[f"ch_effect_{pid}"] / 100, portfolio=portfolio)
    except UserError as err:
        flash_error(err)
        return
    flash("success", _("Challenger for persona {id} proposed; a manager who did not propose it decides.").format(
        id=pid))


def _approve(store, user, run, pid: int, version: int, portfolio) -> None:
    _restore_language()
    try:
        experiment = store.approve_challenger(user, run, pid, expected_version=version, portfolio=portfolio)
    except UserError as err:
        flash_error(err)
        return
    flash("success", _("Challenger for persona {id} approved: at least {n} accounts per arm are needed before "
                       "the read-out names a winner.").format(id=pid, n=experiment.min_sample_per_arm or "?"))


def _reject(store, user, run, pid: int, version: int) -> None:
    _restore_language()
    reason = st.session_state.get(f"ch_reason_{pid}", "")
    try:
        store.reject_challenger(user, run, pid, reason, expected_version=version)
    except UserError as err:
        flash_error(err)
        return
    st.session_state[f"ch_reason_{pid}"] = ""
    flash("success", _("Challenger for persona {id} rejected.").format(id=pid))


def _state_label(state: str) -> str:
    return {"proposed": _("proposed"), "approved": _("approved"), "rejected": _("rejected"),
            "ended": _("ended")}.get(state, state)


def challenger_section(store, user, run, mapping, portfolio, language: str) -> None:
    """The persona's experiment (if any) and what the signed-in user may do with it."""
    pid = mapping.persona_id
    experiment = store.get_experiment(run, pid, portfolio)
    with st.expander(_("Champion / challenger"), expanded=experiment is not None and experiment.state == "proposed"):
        if experiment is not None:
            st.markdown(_("Experiment `{id}` · {state} · challenger {share}, holdout {holdout}, {days} days · "
                          "proposed by {who}").format(
                id=experiment.experiment_id, state=_state_label(experiment.state), days=experiment.planned_days,
                share=format_percent(experiment.challenger_share, language),
                holdout=format_percent(experiment.holdout_share, language),
                who=escape_markdown(experiment.proposed_by or "?")))
            if experiment.challenger is not None:
                st.caption(_("Challenger: {channel} first, tone {tone}, offer {offer}.").format(
                    channel=value_label(experiment.challenger.channel), tone=value_label(experiment.challenger.tone),
                    offer=value_label(experiment.challenger.offer)))
            if experiment.state == "approved":
                st.success(_("Approved by {user} at {time}; minimum sample {n} accounts per arm.").format(
                    user=escape_markdown(experiment.approved_by or "?"), time=_moment(experiment.approved_at),
                    n=experiment.min_sample_per_arm or "?"))
            failing = [render(r.message) for r in experiment.guardrails if not r.passed]
            for message in failing:
                st.error(escape_markdown(message))
            if experiment.reason:
                st.caption(escape_markdown(_(EXPERIMENT_BACK_TO_REVIEW) if experiment.reason == EXPERIMENT_BACK_TO_REVIEW
                                           else render(experiment.reason)))
        else:
            st.caption(_("No experiment for this persona. A challenger journey runs beside the champion for a "
                         "share of the accounts (chosen by a hash of the account id, the same every month); "
                         "the read-out on the KPIs page compares what each arm collected."))
        if user.role in ("analyst", "admin") and mapping.state in ("proposed", "approved"):
            cols = st.columns(4)
            cols[0].number_input(_("Challenger share (%)"), min_value=1, max_value=50, value=20, key=f"ch_share_{pid}")
            cols[1].number_input(_("Holdout, no contact (%)"), min_value=0, max_value=20, value=0,
                                 key=f"ch_holdout_{pid}")
            cols[2].number_input(_("Planned days"), min_value=14, max_value=365, value=60, key=f"ch_days_{pid}")
            cols[3].number_input(_("Smallest effect worth finding (points)"), min_value=1, max_value=50, value=5,
                                 key=f"ch_effect_{pid}")
            st.button(_("Propose challenger"), key=f"ch_propose_{pid}", on_click=_propose,
                      args=(store, user, run, pid, portfolio))
        if experiment is not None and experiment.state == "proposed":
            if user.role == "manager":
                blocked = experiment.proposed_by == user.username
                if blocked:
                    st.info(_("You proposed this challenger: another manager approves it (four eyes)."))
                else:
                    st.caption(_("You approve version {version} of the experiment.").format(version=experiment.version))
                    st.button(_("Approve challenger"), type="primary", key=f"ch_approve_{pid}", on_click=_approve,
                              args=(store, user, run, pid, experiment.version, portfolio))
            if user.role in ("manager", "compliance"):
                st.text_input(_("Reason for rejecting the challenger (required)"), key=f"ch_reason_{pid}")
                st.button(_("Reject challenger"), key=f"ch_reject_{pid}", on_click=_reject,
                          args=(store, user, run, pid, experiment.version))
