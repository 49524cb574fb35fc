"""Portfolio: upload a file (or use the bundled sample), check and correct every column's role and meaning,
see the validation report with the rows excluded per reason, and choose the outcome for the risk model."""
from __future__ import annotations

import streamlit as st

from app_pages._state import (
    UPLOAD_GENERATION,
    current_currency,
    current_portfolio,
    forget_upload,
    portfolio_choice,
    remember_upload,
    require_role,
    page_language,
    set_portfolio_choice,
    show_error,
)
from application import portfolio_page as facts
from core.errors import UserError
from core.formats import csv_download, format_count
from core.i18n import _
from core.text import escape_markdown
from portfolio.columns import mapping_changes, meaning_options
from portfolio.mask import mask_pii
from portfolio.target import EVENTS, check_target, target_values
from strategy.escape import escape_frame


def _outcome_coding(portfolio, target: str) -> None:
    """Which way round the outcome is: the event it records and, unless it is 0/1, which value is it.

    Checked here as ``personas validate --target`` checks it, so a run never starts on a column it
    cannot read."""
    event = st.session_state.get("target_event", facts.default_event(portfolio.roles, target))
    question = facts.event_question(target_values(portfolio.frame, target))
    if question.value_label is None:
        st.session_state.pop("target_event_value", None)
    else:
        st.session_state["target_event_value"] = st.selectbox(
            question.value_label, question.options, placeholder=_("choose a value"),
            index=question.index_of(st.session_state.get("target_event_value")),
            help=_("Nothing is guessed: name the value that records the event chosen below."))
    st.session_state["target_event"] = st.radio(
        question.event_label, list(EVENTS), horizontal=True, index=0 if event == "paid" else 1,
        format_func=facts.event_text)
    if question.value_label is not None and st.session_state["target_event_value"] is None:
        st.warning(question.unanswered)
        return
    try:
        coding = check_target(portfolio.frame, target, event=st.session_state["target_event"],
                              event_value=st.session_state.get("target_event_value"),
                              row_numbers=portfolio.row_numbers, source_name=portfolio.source_name)
    except UserError as err:
        show_error(err)
    else:
        st.caption(facts.coding_caption(coding))


def _page_link(page: str, label: str, icon: str) -> None:
    """A link to another page; as plain text when the page runs on its own (no navigation to link into)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        st.markdown(f"{icon} {label}")


def _currency_choice(portfolio) -> None:
    """The run's currency with its reason; a setting when the portfolio has no currency column."""
    currency = current_currency(portfolio)
    fixed = facts.fixed_currency_note(currency)
    if fixed is not None:
        kind, text = fixed
        getattr(st, kind)(text)  # "caption" or "warning"
        return
    typed = st.text_input(_("Currency of the amounts (ISO code, e.g. EUR)"), value=currency.code or "",
                          help=_("The portfolio has no currency column. Leave empty if you do not know: "
                                 "amounts are then shown without a currency, never as €."))
    code, error = facts.typed_currency(typed)
    if error:
        st.error(error)
    st.session_state["amount_unit_choice"] = code or ""
    st.caption(facts.currency_caption(typed, current_currency(portfolio).label(page_language())))


user = require_role()
language = page_language()
st.title(_("Portfolio"))
st.caption(_("Upload the open accounts (CSV from your ERP, Excel or Parquet), or work with the bundled "
             "sample. Nothing is sent anywhere; files stay in this app's workspace."))

upload = st.file_uploader(_("Portfolio file"), type=["csv", "txt", "xlsx", "parquet"],
                          key=f"portfolio_upload_{st.session_state.get(UPLOAD_GENERATION, 0)}",
                          help=_("German exports (semicolon, decimal comma, Latin-1) are recognised. The file "
                                 "is kept in this app's workspace for you alone until you replace or forget it."))
if upload is not None and upload.file_id != st.session_state.get("upload_id"):
    st.session_state["upload_id"] = upload.file_id
    set_portfolio_choice(upload.getvalue(), upload.name)
    st.session_state["_upload_unkept"] = True  # kept in the workspace once it reads
    st.session_state.pop("target", None)
    st.session_state.pop("target_event_value", None)
    st.session_state.pop("amount_unit_choice", None)
choice = portfolio_choice()
if st.session_state.get("upload_id"):
    name_col, forget_col = st.columns([3, 1], vertical_alignment="center")
    if upload is None:
        name_col.caption(_("Using the uploaded file **{name}**.").format(name=escape_markdown(choice.filename)))
    if forget_col.button(_("Forget my upload"), key="forget_upload",
                         help=_("Deletes the file and what you chose for it from the workspace; the bundled "
                                "sample is used again.")):
        forget_upload(user)
        st.rerun()
elif upload is None:
    st.caption(_("Using the bundled sample portfolio **{name}**.").format(name=choice.filename))

try:
    portfolio = current_portfolio()
except UserError as err:
    st.session_state.pop("_upload_unkept", None)  # a file that cannot be read is not kept
    show_error(err)
    st.stop()
if st.session_state.pop("_upload_unkept", False):
    remember_upload(user, choice)

report = portfolio.report
roles = portfolio.roles
for place, (label, value, help_text) in zip(st.columns(3), facts.row_metrics(report)):
    place.metric(label, value, help=help_text)

# ---------------------------------------------------------------- column roles and meanings
st.subheader(_("Column roles"))
st.caption(_("Every column with its role, its collections meaning and why it was decided so. Change a role or "
             "a meaning to correct it (the same as a --mapping file on the command line). PII and protected "
             "attributes never feed the personas or the risk model; outcome and truth columns only evaluate."))
role_table = facts.role_table(roles, report, language)
edited = st.data_editor(
    role_table, hide_index=True, width="stretch", key="role_editor",
    column_order=["name", "role", "meaning", "reason"], disabled=["name", "reason"],
    column_config={
        "name": st.column_config.TextColumn(_("Column")),
        "role": st.column_config.SelectboxColumn(_("Role"), options=facts.ROLE_OPTIONS, required=True),
        "meaning": st.column_config.SelectboxColumn(
            _("Meaning"), options=[""] + meaning_options(),
            help=_("What the column means for collections (dispute, opt-out per channel …); empty: none")),
        "reason": st.column_config.TextColumn(_("Why"), width="large"),
    },
)
changed = mapping_changes(role_table, edited)
if changed and st.button(_("Apply changes"), type="primary"):
    set_portfolio_choice(choice.data, choice.filename, facts.merged_mapping(choice.mapping_json, changed))
    st.rerun()
if report.generated_ids:
    st.info(_("This file has no account id column: each row's number in the file is its id (`row_2` is row 2). "
              "If the file has an id column, set its role to account_id above."))

# ---------------------------------------------------------------- validation
st.subheader(_("Validation"))
for kind, text in facts.problem_messages(report, language):
    getattr(st, kind)(text)
if report.excluded_by_reason():
    st.markdown(facts.excluded_heading(report, language))
    st.dataframe(facts.excluded_counts_table(report, language),
                 hide_index=True, column_config={"reason": st.column_config.TextColumn(_("Reason")),
                                                 "rows": st.column_config.NumberColumn(_("Rows"))})
    excluded_rows = facts.excluded_rows_table(report, language)
    # Cells are the file's own text: formula triggers are escaped (CWE-1236).
    st.download_button(_("Download excluded rows (CSV)"),
                       **csv_download(escape_frame(excluded_rows), "excluded_rows", language))
    with st.expander(_("Excluded rows ({n})").format(n=format_count(len(report.excluded_rows)))):
        st.dataframe(excluded_rows.head(500), hide_index=True, column_config={
            "row": st.column_config.NumberColumn(_("Row in the file"), format="%d"),
            "account_id": st.column_config.TextColumn(_("Account id")),
            "column": st.column_config.TextColumn(_("Column")),
            "reason": st.column_config.TextColumn(_("Reason"))})
if not report.is_usable:
    st.error(facts.unusable_text(report))
    st.stop()

# ---------------------------------------------------------------- outcome for the risk model
st.subheader(_("Risk model outcome"))
targets = list(roles.targets)
if targets:
    options, index = facts.outcome_options(targets, st.session_state.get("target"))
    picked = st.selectbox(_("Outcome column the risk model learns from"), options, index=index,
                          help=_("Nothing is guessed: pick the column that records whether the account paid."))
    st.session_state["target"] = None if picked == options[0] else picked
    if st.session_state["target"]:
        _outcome_coding(portfolio, st.session_state["target"])
    else:
        st.session_state.pop("target_event_value", None)
else:
    st.info(_("No outcome column found: personas can be discovered, the risk model needs an outcome."))

# ---------------------------------------------------------------- overview
st.subheader(_("Overview"))
_currency_choice(portfolio)
currency = current_currency(portfolio)
frame = portfolio.frame
balance_chart, days_chart, sample_note = facts.overview_charts(frame, currency, language)
c1, c2 = st.columns(2)
c1.altair_chart(balance_chart, width="stretch")
c2.altair_chart(days_chart, width="stretch")
if sample_note:
    st.caption(sample_note)
with st.expander(_("First rows (personal data masked)")):
    st.dataframe(mask_pii(frame.head(50), roles), hide_index=True)

# ---------------------------------------------------------------- next steps
st.subheader(_("Next step"))
_page_link("app_pages/2_personas.py", _("Find personas in this portfolio (Personas page)"), "🧭")


def _apply_section(portfolio) -> None:
    """Next month: give this file's accounts the personas, risk scores and approved strategies of a saved run."""
    from app_pages._state import current_user, get_store, list_runs
    from application.apply import apply_run

    labels = facts.run_labels(list_runs())
    if not labels:
        st.caption(_("No saved run yet: find personas first; next month, apply that run to the new file here."))
        return
    base_dir = st.selectbox(_("Run whose personas and approved strategies this file inherits"), list(labels),
                            format_func=labels.get, key="apply_base")
    st.caption(_("The run's fitted models assign personas and risk scores (nothing is refitted); a drift report "
                 "decides per persona whether its approval carries over or goes back to review."))
    if not st.button(_("Apply run to this file"), key="apply_run"):
        return
    user = current_user()
    bar = st.progress(0.0, text=_("Applying the run…"))
    try:
        result = apply_run(base_dir, portfolio, out_dir=facts.new_run_folder(), store=get_store(), actor=user,
                           progress=lambda stage, fraction: bar.progress(min(1.0, fraction), text=stage))
    except UserError as err:
        bar.empty()
        show_error(err)
        return
    bar.empty()
    from app_pages._personas_ui import record_saved_run

    record_saved_run(result.path)  # the new run is an audit entry under the analyst's name
    st.session_state["run_dir"] = str(result.path)
    review_needed, text = facts.applied_run_message(result)
    (st.warning if review_needed else st.success)(text)
    _page_link("app_pages/8_drift.py", _("Open the drift report"), "📈")


with st.expander(_("Next month: apply a saved run to this file")):
    _apply_section(portfolio)
