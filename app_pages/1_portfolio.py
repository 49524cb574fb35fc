"""Portfolio: upload a file (or use the bundled sample), check and correct every column's role and meaning,
see the validation report with the rows excluded per reason, and choose the outcome for the risk model."""
from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd
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
from core.errors import UserError
from core.formats import csv_download, format_count, localise_chart
from core.i18n import N_, _
from core.text import escape_markdown
from portfolio.columns import column_table, mapping_changes, meaning_options, meanings_of
from portfolio.mask import mask_pii
from portfolio.reason_text import reason_text
from portfolio.report import excluded_reason_text, rows_summary
from portfolio.validate import app_text
from portfolio.target import check_target, target_values
from strategy.escape import escape_frame

EVENT_WORDS = {"paid": N_("the account was paid"), "default": N_("the account was not paid")}
CODING_WORDS = {"paid": N_("the account was paid"), "default": N_("the account was NOT paid")}
ROLE_OPTIONS = ["account_id", "balance", "days_past_due", "feature", "pii", "sensitive", "target",
                "truth", "excluded"]



def _outcome_coding(portfolio, target: str) -> None:
    """Which way round the outcome is: the event it records and, unless it is 0/1, which value is it.

    Checked here as ``personas validate --target`` checks it, so a run never starts on a column it
    cannot read."""
    not_paid = meanings_of(portfolio.roles).get(target) == "outcome.not_paid"
    event = st.session_state.get("target_event", "default" if not_paid else "paid")
    values = target_values(portfolio.frame, target)
    if values.zero_one or len(values.counts) != 2:
        st.session_state.pop("target_event_value", None)
        label = _("In that column, 1 (yes) means")
    else:
        shown = [values.shown[k] for k in sorted(values.counts)]
        current = st.session_state.get("target_event_value")
        listing = _(" and ").join(
            _("'{value}' ({n} rows)").format(value=values.shown[k], n=format_count(n))
            for k, n in sorted(values.counts.items(), key=lambda kv: -kv[1]))
        st.session_state["target_event_value"] = st.selectbox(
            _("'{column}' holds {values}: which value is the event?").format(column=target, values=listing),
            shown, index=shown.index(current) if current in shown else None, placeholder=_("choose a value"),
            help=_("Nothing is guessed: name the value that records the event chosen below."))
        label = _("That value means")
    st.session_state["target_event"] = st.radio(
        label, ["paid", "default"], horizontal=True, index=0 if event == "paid" else 1,
        format_func=lambda v: _(EVENT_WORDS[v]))
    if len(values.counts) == 2 and not values.zero_one and st.session_state["target_event_value"] is None:
        st.warning(_("Choose which value of '{column}' is the event; until then the risk model cannot run.")
                   .format(column=target))
        return
    try:
        coding = check_target(portfolio.frame, target, event=st.session_state["target_event"],
                              event_value=st.session_state.get("target_event_value"),
                              row_numbers=portfolio.row_numbers, source_name=portfolio.source_name)
    except UserError as err:
        show_error(err)
    else:
        v = coding.values
        st.caption(_("Outcome '{column}': '{event}' = {meaning} ({n} rows), '{other}' = the opposite ({m} rows). "
                     "The risk score is the probability of NOT paying.").format(
            column=coding.column, event=v.shown[coding.event_value], meaning=_(CODING_WORDS[coding.event]),
            n=format_count(v.counts[coding.event_value]), other=v.shown[coding.other_value],
            m=format_count(v.counts[coding.other_value])))


def _page_link(page: str, label: str, icon: str) -> None:
    """A link to another page; as plain text when the page runs on its own (no navigation to link into)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        st.markdown(f"{icon} {label}")


def _currency_choice(portfolio) -> None:
    """The run's currency with its reason; a setting when the portfolio has no currency column."""
    from portfolio.currency import normalise_code

    currency = current_currency(portfolio)
    if currency.source == "column":
        st.caption(_("Currency: **{code}** (from the portfolio's currency column, the same on every row).")
                   .format(code=currency.code))
        return
    if currency.is_mixed:
        counts = re.search(r"\(([^()]*)\)", currency.reason)
        st.warning(_("Mixed currencies ({counts}): amounts cannot be summed or compared, so they are shown "
                     "without a currency.").format(counts=counts.group(1) if counts else "?"))
        return
    typed = st.text_input(_("Currency of the amounts (ISO code, e.g. EUR)"), value=currency.code or "",
                          help=_("The portfolio has no currency column. Leave empty if you do not know: "
                                 "amounts are then shown without a currency, never as €."))
    code = normalise_code(typed) if typed.strip() else None
    if typed.strip() and code is None:
        st.error(_("'{typed}' is not a currency code; give three letters such as EUR, USD or CHF.")
                 .format(typed=typed))
    st.session_state["amount_unit_choice"] = code or ""
    if code is None and not typed.strip():
        st.caption(_("Currency unknown: amounts are shown without a currency."))
    else:
        st.caption(_("Currency: **{code}** (set for this portfolio).").format(
            code=current_currency(portfolio).label(page_language())))


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
left, mid, right = st.columns(3)
left.metric(_("Rows read"), format_count(report.n_rows_read))
if report.is_usable:
    mid.metric(_("Usable rows"), format_count(report.n_rows_usable))
    right.metric(_("Excluded rows"), format_count(len(report.excluded_rows)))
else:  # no row can be used until the blocking problems are fixed: never a count beside "cannot be used"
    mid.metric(_("Usable rows"), format_count(0),
               help=_("None until the blocking problems under Validation are fixed."))

# ---------------------------------------------------------------- column roles and meanings
st.subheader(_("Column roles"))
st.caption(_("Every column with its role, its collections meaning and why it was decided so. Change a role or "
             "a meaning to correct it (the same as a --mapping file on the command line). PII and protected "
             "attributes never feed the personas or the risk model; outcome and truth columns only evaluate."))
role_table = column_table(roles, report)
role_table["reason"] = role_table["reason"].map(lambda reason: reason_text(reason, language))  # shown only
edited = st.data_editor(
    role_table, hide_index=True, width="stretch", key="role_editor",
    column_order=["name", "role", "meaning", "reason"], disabled=["name", "reason"],
    column_config={
        "name": st.column_config.TextColumn(_("Column")),
        "role": st.column_config.SelectboxColumn(_("Role"), options=ROLE_OPTIONS, required=True),
        "meaning": st.column_config.SelectboxColumn(
            _("Meaning"), options=[""] + meaning_options(),
            help=_("What the column means for collections (dispute, opt-out per channel …); empty: none")),
        "reason": st.column_config.TextColumn(_("Why"), width="large"),
    },
)
changed = mapping_changes(role_table, edited)
if changed and st.button(_("Apply changes"), type="primary"):
    mapping = {**json.loads(choice.mapping_json), **changed}
    set_portfolio_choice(choice.data, choice.filename, mapping)
    st.rerun()
if report.generated_ids:
    st.info(_("This file has no account id column: each row's number in the file is its id (`row_2` is row 2). "
              "If the file has an id column, set its role to account_id above."))

# ---------------------------------------------------------------- validation
st.subheader(_("Validation"))
if not report.problems:
    st.success(_("No problems found."))
for problem in report.errors:
    st.error(app_text(problem, language))
for problem in report.warnings:
    st.warning(app_text(problem, language))
excluded_counts = report.excluded_by_reason()
if excluded_counts:
    st.markdown(_("**Rows excluded, per reason** ({summary})").format(
        summary=rows_summary(report.rows_section(), language)))
    st.dataframe(pd.DataFrame({"reason": [excluded_reason_text(r, language) for r in excluded_counts],
                               "rows": list(excluded_counts.values())}),
                 hide_index=True, column_config={"reason": st.column_config.TextColumn(_("Reason")),
                                                 "rows": st.column_config.NumberColumn(_("Rows"))})
    excluded_rows = report.excluded_rows.assign(
        reason=report.excluded_rows["reason"].map(lambda reason: excluded_reason_text(reason, language)))
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
    if any(problem.code == "missing_column" for problem in report.errors):
        st.error(_("This portfolio cannot be used until the blocking problems above are fixed: give the missing "
                   "columns their roles in the column table above, or upload a corrected file."))
    else:
        st.error(_("This portfolio cannot be used until the blocking problems above are fixed: correct the file "
                   "and upload it again."))
    st.stop()

# ---------------------------------------------------------------- outcome for the risk model
st.subheader(_("Risk model outcome"))
targets = list(roles.targets)
if targets:
    options = [_("(none: personas only)")] + targets
    current = st.session_state.get("target")
    picked = st.selectbox(_("Outcome column the risk model learns from"), options,
                          index=options.index(current) if current in options else 0,
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
chart_rows = frame.sample(min(len(frame), 5000), random_state=0) if len(frame) > 5000 else frame
c1, c2 = st.columns(2)
c1.altair_chart(localise_chart(
    alt.Chart(chart_rows[["balance"]]).mark_bar().encode(
        alt.X("balance:Q", bin=alt.Bin(maxbins=40),
              title=_("Balance ({currency})").format(currency=currency.label(language))),
        alt.Y("count()", title=_("Accounts"))
    ).properties(title=_("Balance")), language, currency), width="stretch")
c2.altair_chart(localise_chart(
    alt.Chart(chart_rows[["days_past_due"]]).mark_bar().encode(
        alt.X("days_past_due:Q", bin=alt.Bin(maxbins=40), title=_("Days past due")),
        alt.Y("count()", title=_("Accounts")),
    ).properties(title=_("Days past due")), language), width="stretch")
if len(frame) > len(chart_rows):
    st.caption(_("Charts drawn from a random sample of {n} of {total} accounts.").format(
        n=format_count(len(chart_rows)), total=format_count(len(frame))))
with st.expander(_("First rows (personal data masked)")):
    st.dataframe(mask_pii(frame.head(50), roles), hide_index=True)

# ---------------------------------------------------------------- next steps
st.subheader(_("Next step"))
_page_link("app_pages/2_personas.py", _("Find personas in this portfolio (Personas page)"), "🧭")


def _apply_section(portfolio) -> None:
    """Next month: give this file's accounts the personas, risk scores and approved strategies of a saved run."""
    from app_pages._state import current_user, get_store, list_runs
    from application.apply import apply_run
    from core.workspace import runs_dir
    from runs import new_run_id

    runs = [r for r in list_runs() if not r["problem"]]
    if not runs:
        st.caption(_("No saved run yet: find personas first; next month, apply that run to the new file here."))
        return
    labels = {r["run_dir"]: r["label"] for r in runs}
    base_dir = st.selectbox(_("Run whose personas and approved strategies this file inherits"), list(labels),
                            format_func=labels.get, key="apply_base")
    st.caption(_("The run's fitted models assign personas and risk scores (nothing is refitted); a drift report "
                 "decides per persona whether its approval carries over or goes back to review."))
    if not st.button(_("Apply run to this file"), key="apply_run"):
        return
    user = current_user()
    bar = st.progress(0.0, text=_("Applying the run…"))
    try:
        result = apply_run(base_dir, portfolio, out_dir=runs_dir() / new_run_id(), store=get_store(), actor=user,
                           progress=lambda stage, fraction: bar.progress(min(1.0, fraction), text=stage))
    except UserError as err:
        bar.empty()
        show_error(err)
        return
    bar.empty()
    from app_pages._personas_ui import record_saved_run

    record_saved_run(result.path)  # the new run is an audit entry under the analyst's name
    st.session_state["run_dir"] = str(result.path)
    carried = (result.carry or {}).get("carried", [])
    review = (result.carry or {}).get("review", [])
    (st.warning if result.review_needed else st.success)(
        _("New run `{run}` for {n} accounts: approvals carried over for {carried} persona(s), {review} back to "
          "review. See the Drift page.").format(run=result.run_id, n=format_count(len(result.accounts)),
                                               carried=len(carried), review=len(review)))
    _page_link("app_pages/8_drift.py", _("Open the drift report"), "📈")


with st.expander(_("Next month: apply a saved run to this file")):
    _apply_section(portfolio)
