"""Account: the signed-in user changes their own password."""
from __future__ import annotations

import streamlit as st

from app_pages._state import get_store, require_role, show_error
from core.errors import UserError
from core.text import escape_markdown
from strategy.passwords import POLICY_TEXT

user = require_role()
store = get_store()
st.title("Account")
st.markdown(f"Signed in as **{escape_markdown(user.username)}** ({user.role}).")

st.subheader("Change your password")
st.caption(f"The new password needs {POLICY_TEXT}. Your other sessions stay signed in; ask an "
           "administrator to end them if you think someone else knows your password.")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password")
    new = st.text_input("New password", type="password")
    repeat = st.text_input("New password again", type="password")
    submitted = st.form_submit_button("Change password", type="primary")
if submitted:
    try:
        if new != repeat:
            raise UserError("the two new passwords differ")
        store.change_own_password(user, current, new)
    except UserError as err:
        show_error(err)
    else:
        st.success("Your password is changed.")
