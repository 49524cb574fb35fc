"""Users: administrators add people, set their role and disable accounts."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._state import get_store, require_role, show_error
from portfolio.errors import UserError
from strategy.auth import ROLES

user = require_role("admin")
store = get_store()
st.title("Users")
st.caption("Analysts propose strategies, compliance reviewers sign off the model and may veto, "
           "managers approve or reject, administrators manage users. Passwords are stored as argon2 hashes.")

users = pd.DataFrame(store.list_users())
if not users.empty:
    st.dataframe(users.drop(columns=[c for c in users if "hash" in c]), hide_index=True,
                 use_container_width=True)

st.subheader("Add a user")
with st.form("add_user", clear_on_submit=True):
    name = st.text_input("User name")
    role = st.selectbox("Role", ROLES)
    password = st.text_input("Initial password (at least 10 characters)", type="password")
    if st.form_submit_button("Add user", type="primary"):
        try:
            if len(password) < 10:
                raise UserError("the initial password needs at least 10 characters")
            store.add_user(user, name.strip(), role, password)
        except UserError as err:
            show_error(err)
        else:
            st.success(f"{name.strip()} added as {role}.")
            st.rerun()

if not users.empty:
    st.subheader("Change a user")
    who = st.selectbox("User", [u for u in users["username"] if u != user.username])
    c1, c2 = st.columns(2)
    new_role = c1.selectbox("New role", ROLES, key="new_role")
    if c1.button("Set role") and who:
        try:
            store.set_role(user, who, new_role)
        except UserError as err:
            show_error(err)
        else:
            st.rerun()
    if c2.button("Disable account") and who:
        try:
            store.set_disabled(user, who, True)
        except UserError as err:
            show_error(err)
        else:
            st.rerun()
    if c2.button("Enable account") and who:
        try:
            store.set_disabled(user, who, False)
        except UserError as err:
            show_error(err)
        else:
            st.rerun()
