"""Portfolio: upload a file (or use the bundled sample), check the column roles and the validation report."""
from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from app_pages._state import (
    current_portfolio,
    portfolio_choice,
    require_role,
    set_portfolio_choice,
    show_error,
)
from core.errors import UserError
from portfolio.mask import mask_pii

ROLE_OPTIONS = ["account_id", "balance", "days_past_due", "feature", "pii", "sensitive", "target",
                "truth", "excluded"]

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

# ---------------------------------------------------------------- column roles
st.subheader("Column roles")
st.caption("Detected automatically; change a role to override it. PII and protected attributes never "
           "feed the personas or the risk model. Outcome and truth columns are only used to evaluate.")
source_of = {canonical: source for source, canonical in roles.renamed.items()}
role_table = pd.DataFrame(
    [{"column": source_of.get(col, col), "role": role, "reason": roles.reasons.get(col, "")}
     for col, role in roles.roles.items()]
)
edited = st.data_editor(
    role_table, hide_index=True, use_container_width=True, key="role_editor",
    column_config={
        "column": st.column_config.TextColumn("Column", disabled=True),
        "role": st.column_config.SelectboxColumn("Role", options=ROLE_OPTIONS, required=True),
        "reason": st.column_config.TextColumn("Why", disabled=True),
    },
)
changed = {row.column: row.role for row, old in zip(edited.itertuples(), role_table.itertuples())
           if row.role != old.role}
if changed and st.button("Apply role changes", type="primary"):
    mapping = {**json.loads(choice.mapping_json), **changed}
    set_portfolio_choice(choice.data, choice.filename, mapping)
    st.rerun()

# ---------------------------------------------------------------- validation
st.subheader("Validation")
if not report.problems:
    st.success("No problems found.")
for problem in report.errors:
    st.error(problem.message)
for problem in report.warnings:
    st.warning(problem.message)
if len(report.excluded_rows):
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
    st.session_state["target_event"] = st.radio(
        "In that column, 1 means", ["paid", "default"], horizontal=True,
        index=0 if st.session_state.get("target_event", "paid") == "paid" else 1,
        format_func=lambda v: "the account was paid" if v == "paid" else "the account was not paid")
else:
    st.info("No outcome column found: personas can be discovered, the risk model needs an outcome.")

# ---------------------------------------------------------------- overview
st.subheader("Overview")
frame = portfolio.frame
chart_rows = frame.sample(min(len(frame), 5000), random_state=0) if len(frame) > 5000 else frame
c1, c2 = st.columns(2)
c1.altair_chart(
    alt.Chart(chart_rows[["balance"]]).mark_bar().encode(
        alt.X("balance:Q", bin=alt.Bin(maxbins=40), title="Balance (EUR)"), alt.Y("count()", title="Accounts")
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
