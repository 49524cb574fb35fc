"""Users: administrators add people, set their role, reset passwords and disable accounts."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._state import get_store, require_role, show_error
from app_pages._strategy_ui import flash, show_flash
from core.errors import UserError
from strategy.auth import ROLES

MIN_PASSWORD = 10

user = require_role("admin")
store = get_store()
st.title("Users")
st.caption("Analysts propose strategies, compliance reviewers sign off the model and may veto, "
           "managers approve or reject, administrators manage users. Passwords are stored as "
           "argon2 hashes. Every change is recorded in the audit log.")
show_flash()

users = pd.DataFrame(store.list_users())
if not users.empty:
    st.dataframe(users.drop(columns=[c for c in users if "hash" in c]), hide_index=True,
                 width="stretch")

st.subheader("Add a user")
with st.form("add_user", clear_on_submit=True):
    name = st.text_input("User name")
    role = st.selectbox("Role", ROLES)
    password = st.text_input(f"Initial password (at least {MIN_PASSWORD} characters)",
                             type="password")
    submitted = st.form_submit_button("Add user", type="primary")
if submitted:
    try:
        if len(password) < MIN_PASSWORD:
            raise UserError(f"the initial password needs at least {MIN_PASSWORD} characters")
        store.add_user(user, name.strip(), role, password)
    except UserError as err:
        show_error(err)
    else:
        flash("success", f"{name.strip()} added as {role}. Give them the initial password in "
                         "person; they sign in with it.")
        st.rerun()

others = [u for u in users.get("username", []) if u != user.username]
if others:
    st.subheader("Change a user")
    who = st.selectbox("User", others)
    current = users.set_index("username").loc[who]
    st.caption(f"{who} is {current['role']}"
               + (", **disabled**." if bool(current.get("disabled")) else "."))
    c1, c2, c3 = st.columns(3)
    new_role = c1.selectbox("New role", ROLES, index=ROLES.index(current["role"]), key="new_role")
    new_password = c2.text_input(f"New password (at least {MIN_PASSWORD} characters)",
                                 type="password", key="new_password")

    def _do(action, done: str) -> None:
        try:
            action()
        except UserError as err:
            show_error(err)
        else:
            flash("success", done)
            st.rerun()

    if c1.button("Set role"):
        _do(lambda: store.set_role(user, who, new_role), f"{who} is now {new_role}.")
    if c2.button("Set password"):
        if len(new_password) < MIN_PASSWORD:
            st.error(f"The new password needs at least {MIN_PASSWORD} characters.")
        else:
            _do(lambda: store.set_password(user, who, new_password), f"Password of {who} changed.")
    if bool(current.get("disabled")):
        if c3.button("Enable account"):
            _do(lambda: store.set_disabled(user, who, False), f"{who} can sign in again.")
    elif c3.button("Disable account"):
        _do(lambda: store.set_disabled(user, who, True), f"{who} can no longer sign in.")
