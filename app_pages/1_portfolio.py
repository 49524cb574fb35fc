"""Portfolio: upload a file (or use the bundled sample), check and correct every column's role and meaning,
see the validation report with the rows excluded per reason, and choose the outcome for the risk model."""
from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from app_pages._state import (
    current_currency,
    current_portfolio,
    portfolio_choice,
    require_role,
    set_portfolio_choice,
    show_error,
)
from core.errors import UserError
from portfolio.columns import column_table, mapping_changes, meaning_options, meanings_of
from portfolio.mask import mask_pii
from portfolio.report import rows_summary
from portfolio.target import check_target, target_values

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
        label = "In that column, 1 (yes) means"
    else:
        shown = [values.shown[k] for k in sorted(values.counts)]
        current = st.session_state.get("target_event_value")
        st.session_state["target_event_value"] = st.selectbox(
            f"'{target}' holds {values.listing()}: which value is the event?", shown,
            index=shown.index(current) if current in shown else None, placeholder="choose a value",
            help="Nothing is guessed: name the value that records the event chosen below.")
        label = "That value means"
    st.session_state["target_event"] = st.radio(
        label, ["paid", "default"], horizontal=True, index=0 if event == "paid" else 1,
        format_func=lambda v: "the account was paid" if v == "paid" else "the account was not paid")
    if len(values.counts) == 2 and not values.zero_one and st.session_state["target_event_value"] is None:
        st.warning(f"Choose which value of '{target}' is the event; until then the risk model cannot run.")
        return
    try:
        coding = check_target(portfolio.frame, target, event=st.session_state["target_event"],
                              event_value=st.session_state.get("target_event_value"),
                              row_numbers=portfolio.row_numbers, source_name=portfolio.source_name)
    except UserError as err:
        show_error(err)
    else:
        described = coding.describe()
        st.caption(f"{described[0].upper()}{described[1:]}. The risk score is the probability of NOT paying.")


def _currency_choice(portfolio) -> None:
    """The run's currency with its reason; a setting when the portfolio has no currency column."""
    from portfolio.currency import normalise_code

    currency = current_currency(portfolio)
    if currency.source == "column":
        st.caption(f"Currency: **{currency.code}** ({currency.reason}).")
        return
    if currency.is_mixed:
        st.warning(f"Mixed currencies: {currency.reason}.")
        return
    typed = st.text_input("Currency of the amounts (ISO code, e.g. EUR)", value=currency.code or "",
                          help="The portfolio has no currency column. Leave empty if you do not know: "
                               "amounts are then shown without a currency, never as €.")
    code = normalise_code(typed) if typed.strip() else None
    if typed.strip() and code is None:
        st.error(f"'{typed}' is not a currency code; give three letters such as EUR, USD or CHF.")
    st.session_state["amount_unit_choice"] = code or ""
    if code is None and not typed.strip():
        st.caption("Currency unknown: amounts are shown without a currency.")
    else:
        st.caption(f"Currency: **{current_currency(portfolio).label()}** "
                   f"({current_currency(portfolio).reason}).")


require_role()
st.title("Portfolio")
st.caption("Upload the open accounts (CSV from your ERP, Excel or Parquet), or work with the bundled "
           "sample. Nothing is sent anywhere; files stay in this app's workspace.")

upload = st.file_uploader("Portfolio file", type=["csv", "txt", "xlsx", "parquet"],
                          help="German exports (semicolon, decimal comma, Latin-1) are recognised.")
if upload is not None and upload.file_id != st.session_state.get("upload_id"):
    st.session_state["upload_id"] = upload.file_id
    set_portfolio_choice(upload.getvalue(), upload.name)
    st.session_state.pop("target", None)
    st.session_state.pop("target_event_value", None)
    st.session_state.pop("amount_unit_choice", None)
choice = portfolio_choice()
if upload is None and st.session_state.get("upload_id"):
    st.caption(f"Using the uploaded file **{choice.filename}**.")
elif upload is None:
    st.caption(f"Using the bundled sample portfolio **{choice.filename}**.")

try:
    portfolio = current_portfolio()
except UserError as err:
    show_error(err)
    st.stop()

report = portfolio.report
roles = portfolio.roles
left, mid, right = st.columns(3)
left.metric("Rows read", f"{report.n_rows_read:,}")
mid.metric("Usable rows", f"{report.n_rows_usable:,}")
right.metric("Excluded rows", f"{len(report.excluded_rows):,}")

# ---------------------------------------------------------------- column roles and meanings
st.subheader("Column roles")
st.caption("Every column with its role, its collections meaning and why it was decided so. Change a role or "
           "a meaning to correct it (the same as a --mapping file on the command line). PII and protected "
           "attributes never feed the personas or the risk model; outcome and truth columns only evaluate.")
role_table = column_table(roles, report)
edited = st.data_editor(
    role_table, hide_index=True, use_container_width=True, key="role_editor",
    column_order=["name", "role", "meaning", "reason"], disabled=["name", "reason"],
    column_config={
        "name": st.column_config.TextColumn("Column"),
        "role": st.column_config.SelectboxColumn("Role", options=ROLE_OPTIONS, required=True),
        "meaning": st.column_config.SelectboxColumn(
            "Meaning", options=[""] + meaning_options(),
            help="What the column means for collections (dispute, opt-out per channel …); empty: none"),
        "reason": st.column_config.TextColumn("Why", width="large"),
    },
)
changed = mapping_changes(role_table, edited)
if changed and st.button("Apply changes", type="primary"):
    mapping = {**json.loads(choice.mapping_json), **changed}
    set_portfolio_choice(choice.data, choice.filename, mapping)
    st.rerun()
if report.generated_ids:
    st.info("This file has no account id column: each row's number in the file is its id (`row_2` is row 2). "
            "If the file has an id column, set its role to account_id above.")

# ---------------------------------------------------------------- validation
st.subheader("Validation")
if not report.problems:
    st.success("No problems found.")
for problem in report.errors:
    st.error(problem.message)
for problem in report.warnings:
    st.warning(problem.message)
excluded_counts = report.excluded_by_reason()
if excluded_counts:
    st.markdown(f"**Rows excluded, per reason** ({rows_summary(report.rows_section())})")
    st.dataframe(pd.DataFrame({"reason": list(excluded_counts), "rows": list(excluded_counts.values())}),
                 hide_index=True)
    st.download_button("Download excluded rows (CSV)", report.excluded_rows.to_csv(index=False),
                       file_name="excluded_rows.csv", mime="text/csv")
    with st.expander(f"Excluded rows ({len(report.excluded_rows):,})"):
        st.dataframe(report.excluded_rows.head(500), hide_index=True)
if not report.is_usable:
    st.error("This portfolio cannot be used until the blocking problems above are fixed.")
    st.stop()

# ---------------------------------------------------------------- outcome for the risk model
st.subheader("Risk model outcome")
targets = list(roles.targets)
if targets:
    options = ["(none: personas only)"] + targets
    current = st.session_state.get("target")
    picked = st.selectbox("Outcome column the risk model learns from", options,
                          index=options.index(current) if current in options else 0,
                          help="Nothing is guessed: pick the column that records whether the account paid.")
    st.session_state["target"] = None if picked == options[0] else picked
    if st.session_state["target"]:
        _outcome_coding(portfolio, st.session_state["target"])
    else:
        st.session_state.pop("target_event_value", None)
else:
    st.info("No outcome column found: personas can be discovered, the risk model needs an outcome.")

# ---------------------------------------------------------------- overview
st.subheader("Overview")
_currency_choice(portfolio)
currency = current_currency(portfolio)
frame = portfolio.frame
chart_rows = frame.sample(min(len(frame), 5000), random_state=0) if len(frame) > 5000 else frame
c1, c2 = st.columns(2)
c1.altair_chart(
    alt.Chart(chart_rows[["balance"]]).mark_bar().encode(
        alt.X("balance:Q", bin=alt.Bin(maxbins=40), title=f"Balance ({currency.label()})"), alt.Y("count()", title="Accounts")
    ).properties(title="Balance"), use_container_width=True)
c2.altair_chart(
    alt.Chart(chart_rows[["days_past_due"]]).mark_bar().encode(
        alt.X("days_past_due:Q", bin=alt.Bin(maxbins=40), title="Days past due"),
        alt.Y("count()", title="Accounts"),
    ).properties(title="Days past due"), use_container_width=True)
if len(frame) > len(chart_rows):
    st.caption(f"Charts drawn from a random sample of {len(chart_rows):,} of {len(frame):,} accounts.")
with st.expander("First rows (personal data masked)"):
    st.dataframe(mask_pii(frame.head(50), roles), hide_index=True)
