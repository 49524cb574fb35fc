"""KPIs and read-out: what the strategies actually collected, month over month, and champion against challenger.

The chain of months is the chosen run, the runs it was applied from and the runs applied after it
(``strategy.kpis.run_chain``); payments are the files loaded into each run (``personas outcomes load``
or the upload below). Figures the data cannot fill are listed as not available, never shown as 0.
"""
from __future__ import annotations

import streamlit as st

from app_pages._numbers import number_columns
from app_pages._state import current_run_view, get_store, page_language, require_role, show_error
from application.cycle_views import (
    KPI_LABELS,
    PERCENT_KPIS,
    kpi_chart,
    kpi_label,
    kpi_overview,
    readout_tables,
    roll_rate_matrix,
    unavailable_kpis,
)
from core.errors import UserError
from core.formats import csv_download, format_percent
from core.charts import fit_width
from core.i18n import _
from core.text import escape_markdown
from strategy.texts import render

user = require_role()
store = get_store()
language = page_language()
st.title(_("KPIs"))
st.caption(_("Recovery, cure and roll rates by month, persona and arm, from the payments loaded into each run; "
             "and the champion/challenger read-out, which calls no winner before the planned minimum sample."))

run = current_run_view()
if run is None:
    st.info(_("No run is chosen. Choose one in the sidebar, or create one on the Portfolio page."))
    st.stop()


@st.cache_data(show_spinner=False, max_entries=8)
def _kpis(run_dir: str, fingerprints: tuple[str, ...], costs: tuple[tuple[str, float], ...], audit_head: tuple):
    """KPI table of the run's chain; cached by every run's manifest fingerprint (payments change it) and the
    audit log's head (an approved experiment changes it)."""
    from strategy.cycle_inputs import experiments_and_contacts
    from strategy.kpis import kpis, run_chain
    from strategy.outcomes import read_outcomes

    chain = run_chain(run_dir)
    experiments, contacts = {}, {}
    for month in chain:
        experiments[month.run_id], contacts[month.run_id] = experiments_and_contacts(store, month, bool(costs))
    outcomes = {month.run_id: frame for month in chain if (frame := read_outcomes(month)) is not None}
    table = kpis(chain, outcomes, experiments=experiments, costs=dict(costs), contacts=contacts)
    return table, [month.run_id for month in chain], sorted(outcomes)


def _chain_fingerprints(run_dir: str) -> tuple[str, ...]:
    from runs import list_runs, manifest_fingerprint
    from pathlib import Path

    root = Path(run_dir).parent
    return tuple(sorted(f"{info.run_id}:{manifest_fingerprint(info.path)}" for info in list_runs(root)
                        if info.problem is None))


def _costs() -> tuple[tuple[str, float], ...]:
    from strategy.settings import StrategySettings

    try:
        return tuple(sorted(StrategySettings().channel_cost_table().items()))
    except UserError:
        return ()


# ---------------------------------------------------------------- payments into the chosen run
with st.expander(_("Load payments into this run"), expanded=False):
    st.caption(_("A payments file (account id, date, amount) from your ERP: CSV (German or English), Excel or "
                 "Parquet. It is kept in the run folder, signed with it; a file already loaded is refused."))
    upload = st.file_uploader(_("Payments file"), type=["csv", "txt", "xlsx", "parquet"], key="payments_upload")
    if upload is not None and st.button(_("Load payments"), type="primary"):
        from strategy.outcomes import keep_payments

        try:
            saved = keep_payments(run, upload.getvalue(), filename=upload.name, store=store, actor=user)
        except UserError as err:
            show_error(err)
        else:
            for line in saved.lines():
                st.success(escape_markdown(render(line)))
            st.cache_data.clear()

try:
    costs = _costs()
    with st.spinner(_("Computing KPIs…")):
        table, chain_ids, with_payments = _kpis(str(run.run_dir), _chain_fingerprints(str(run.run_dir)), costs,
                                                tuple(store.audit_head()))
except UserError as err:
    show_error(err)
    st.stop()

st.caption(_("{n} month(s) in this run's chain").format(n=len(chain_ids)) + ": "
           + " → ".join(f"`{rid}`" for rid in chain_ids)
           + " · " + _("payments loaded for {n} of them").format(n=len(with_payments))
           + ("" if costs else " · " + _("no contact cost per channel configured: costs not available")))

tab_overview, tab_charts, tab_rolls, tab_readout = st.tabs(
    [_("Overview"), _("By persona and arm"), _("Roll rates"), _("Champion / challenger")])

with tab_overview:
    overview = kpi_overview(table)
    if overview.empty:
        st.info(_("No KPI yet: the chain has no month with accounts."))
    else:
        # English numbers stay numbers (sortable; "not available" stays empty); other languages show the
        # percentages as text ("–" when not available; app_pages/_numbers.py).
        overview, percents = number_columns(overview, {kpi_label(key): ("percent", 1) for key in PERCENT_KPIS},
                                            language)
        st.dataframe(overview, hide_index=True, width="stretch", column_config=percents)
    for line in unavailable_kpis(table):
        st.caption(escape_markdown(line))
    st.download_button(_("Download the KPI table (CSV)"), **csv_download(table.assign(note=table["note"].map(render)) if "note" in table else table,
                                                                      f"kpis-{run.run_id}", language))

with tab_charts:
    available = [k for k in KPI_LABELS if k != "roll_rate" and k in set(table["kpi"])]
    if not available:
        st.info(_("No KPI to chart yet."))
    else:
        kpi = st.selectbox(_("KPI"), available, format_func=kpi_label, key="kpi_choice")
        by = st.radio(_("Lines per"), ["persona", "arm"], horizontal=True, key="kpi_by",
                      format_func=lambda v: _("persona") if v == "persona" else _("arm"))
        chart = kpi_chart(table, kpi, by)
        if chart is None:
            st.info(_("{kpi}: not available for any month (see the Overview tab for why).").format(kpi=kpi_label(kpi)))
        else:
            st.altair_chart(fit_width(chart), width="stretch")

with tab_rolls:
    months = sorted(set(table.loc[table["kpi"] == "roll_rate", "month"])) if len(table) else []
    if not months:
        st.info(_("Roll rates need a next month: apply this run to next month's file first."))
    else:
        month = st.selectbox(_("Month"), months, key="roll_month")
        st.caption(_("Share of the month's accounts in each days-past-due bucket (rows) found in each bucket next "
                     "month (columns); 'left': not in next month's portfolio."))
        st.dataframe(roll_rate_matrix(table, month).map(lambda v: format_percent(v, language)), width="stretch")

with tab_readout:
    from strategy.cycle_inputs import experiments_and_contacts
    from strategy.outcomes import read_outcomes
    from strategy.readout import readout

    payments = read_outcomes(run)
    if payments is None:
        st.info(_("No payments loaded into this run yet: load them above (or `personas outcomes load`) to read "
                  "out champion against challenger."))
    else:
        experiments, contacts = experiments_and_contacts(store, run, bool(costs))
        result = readout(run, payments, experiments, costs=dict(costs), contacts=contacts)
        for note in result.notes:
            st.caption(escape_markdown(render(note)))
        rows, diffs = readout_tables(result)
        st.dataframe(rows, hide_index=True, width="stretch")
        if len(diffs):
            st.subheader(_("Differences and verdicts"))
            st.dataframe(diffs, hide_index=True, width="stretch")
        st.caption(_("Promoting a challenger is a new proposal on the Strategies page and needs a second person's "
                     "approval like any other."))
