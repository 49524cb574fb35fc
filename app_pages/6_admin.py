"""Users: administrators add people, set their role, reset passwords, disable, enable and remove."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._state import get_store, require_role, show_error
from app_pages._strategy_ui import flash, show_flash
from core.errors import UserError
from core.text import escape_markdown
from strategy.auth import ROLES
from strategy.passwords import MIN_LENGTH, POLICY_TEXT

user = require_role("admin")
store = get_store()
st.title("Users")
st.caption("Analysts propose strategies, compliance reviewers sign off the model and may veto, "
           "managers approve or reject, administrators manage users. Passwords are stored as "
           f"argon2 hashes and need {POLICY_TEXT}. Every change is recorded in the audit log; "
           "disabling, removing, a new role or a password reset ends the user's open sessions.")
show_flash()

users = pd.DataFrame(store.list_users())
if not users.empty:
    st.dataframe(users.drop(columns=[c for c in users if "hash" in c]), hide_index=True,
                 width="stretch")
for line in store.role_conflicts():
    st.warning(f"Flagged: {escape_markdown(line)}. One person must not hold two review roles "
               "(four-eyes); disable or remove one identity.")

st.subheader("Add a user")
with st.form("add_user", clear_on_submit=True):
    name = st.text_input("User name")
    role = st.selectbox("Role", ROLES)
    person = st.text_input("Person (e-mail or employee id; identities of one person never review "
                           "each other's work)")
    password = st.text_input(f"Initial password (at least {MIN_LENGTH} characters)",
                             type="password")
    submitted = st.form_submit_button("Add user", type="primary")
if submitted:
    try:
        store.add_user(user, name.strip(), role, password, person=person.strip() or None)
    except UserError as err:
        show_error(err)
    else:
        flash("success", f"{name.strip()} added as {role}. Give them the initial password in "
                         "person; they sign in with it and change it on their Account page.")
        st.rerun()

others = [u for u in users.get("username", []) if u != user.username]
if others:
    st.subheader("Change a user")
    who = st.selectbox("User", others)
    current = users.set_index("username").loc[who]
    disabled = bool(current.get("disabled"))
    st.caption(f"{escape_markdown(who)} is {current['role']}" + (", **disabled**." if disabled else "."))
    c1, c2, c3, c4 = st.columns(4)
    new_role = c1.selectbox("New role", ROLES, index=ROLES.index(current["role"]), key="new_role")
    new_password = c2.text_input(f"New password (at least {MIN_LENGTH} characters)",
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
        _do(lambda: store.set_password(user, who, new_password), f"Password of {who} changed.")
    if disabled:
        if c3.button("Enable account"):
            _do(lambda: store.set_disabled(user, who, False), f"{who} can sign in again.")
    elif c3.button("Disable account"):
        _do(lambda: store.set_disabled(user, who, True), f"{who} can no longer sign in.")
    confirm = c4.checkbox(f"Yes, remove {who}", key="confirm_remove")
    if c4.button("Remove account", disabled=not confirm):
        _do(lambda: store.remove_user(user, who),
            f"{who} is removed; their past actions stay in the audit log.")
    if c4.button("Clear failed sign-ins"):
        _do(lambda: store.unlock(user, who), f"Failed sign-ins of {who} cleared.")
