"""Drift: how this month's accounts differ from the run they were applied from, and what that decided.

The report is the ``drift.json`` that ``apply`` (``personas apply`` or the Portfolio page) wrote into
the new run; it is computed once, signed with the run and shown here unchanged.
"""
from __future__ import annotations

import json

import streamlit as st

from app_pages._numbers import number_columns
from app_pages._state import current_run_view, page_language, require_role
from application.cycle_views import (
    drift_headline,
    drift_methods,
    drift_reasons,
    drift_warnings,
    shown_text,
    drift_of,
    feature_drift_labels,
    feature_drift_table,
    persona_drift_table,
    persona_share_chart,
    psi_chart,
    risk_drift_lines,
)
from core.formats import format_percent
from core.charts import fit_width
from core.i18n import _
from core.text import escape_markdown

require_role()
language = page_language()
st.title(_("Drift"))
st.caption(_("Next month's accounts against the run whose approved strategies they inherit: persona shares, "
             "feature shifts, accounts far from every persona and the risk score. Past the thresholds a persona "
             "goes back to review; below them its approval carries over (recorded in the audit log)."))

run = current_run_view()
if run is None:
    st.info(_("No run is chosen. Choose one in the sidebar, or create one on the Portfolio page."))
    st.stop()
drift = drift_of(run)
if drift is None:
    st.info(_("Run `{run}` was not applied to a new month, so it has no drift report. On the Portfolio "
              "page, upload next month's file and apply an approved run to it (or run `python -m personas apply "
              "RUN_DIR NEXT_FILE --db DB --out NEW_RUN_DIR`), then choose the new run in the sidebar.")
            .format(run=run.run_id))
    st.stop()

review, sentence = drift_headline(drift)
(st.warning if review else st.success)(escape_markdown(sentence))
for reason in drift_reasons(drift):  # stored English, shown in the reader's language where the run has codes
    st.markdown(f"- {escape_markdown(reason)}")
for warning in drift_warnings(drift):
    st.caption(_("Note: {text}").format(text=escape_markdown(warning)))

with st.expander(_("Strategies of this run after the carry-over"), expanded=review):
    from app_pages._state import get_store
    from application.cycle_views import strategy_states

    st.caption(_("Approvals carry over only where nothing drifted and the strategy still passes every guardrail "
                 "on this month's accounts; everything else waits for a manager on the Strategies page."))
    st.dataframe(strategy_states(get_store(), run), hide_index=True, width="stretch")

tab_personas, tab_features, tab_risk, tab_method = st.tabs(
    [_("Personas"), _("Features"), _("Risk score"), _("Thresholds and methods")])

with tab_personas:
    share_chart = persona_share_chart(drift)
    st.altair_chart(fit_width(share_chart), width="stretch")
    table = persona_drift_table(drift)
    # English shares stay numbers (sortable); other languages show them as text (app_pages/_numbers.py).
    table, shares = number_columns(table, dict.fromkeys(
        (_("Base share"), _("New share"), _("Far from every persona")), ("percent", 1)), language, helps={
        _("Far from every persona"): _("Share of the persona's accounts farther from every reference account "
                                       "than the persona model's distance limit: behaviour the run has not seen.")})
    st.dataframe(table, hide_index=True, width="stretch", column_config=shares)
    far = drift.get("far_from_every_persona") or {}
    if far:
        st.caption(_("Far from every persona: {share} of this month's accounts (base run {base}); {reason}").format(
            share=format_percent(far["share"], language), base=format_percent(far["base_share"], language),
            reason=escape_markdown(shown_text(far, "reason"))))

with tab_features:
    feature_chart = psi_chart(drift)
    st.altair_chart(fit_width(feature_chart), width="stretch")
    features, psi = number_columns(feature_drift_table(drift), {"PSI": ("decimal", 3)}, language,
                                   labels=feature_drift_labels())
    st.dataframe(features, hide_index=True, width="stretch", column_config={
        key: psi.get(key, st.column_config.TextColumn(label)) for key, label in feature_drift_labels().items()})
    st.caption(_("PSI (population stability index) compares the distribution of each model column with the "
                 "base run: below 0.10 stable, 0.10–0.25 moderate, above 0.25 major."))

with tab_risk:
    for line in risk_drift_lines(drift):
        st.markdown(f"- {escape_markdown(line)}")

with tab_method:
    thresholds = drift.get("thresholds") or {}
    st.dataframe([{_("Threshold"): k, _("Value"): str(v)} for k, v in thresholds.items()], hide_index=True,
                 width="stretch")
    for name, text in drift_methods(drift).items():
        st.markdown(f"**{escape_markdown(name)}**: {escape_markdown(text)}")
    st.download_button(_("Download drift.json"), json.dumps(drift, indent=2, ensure_ascii=False).encode("utf-8"),
                       file_name=f"drift-{run.run_id}.json", mime="application/json")
