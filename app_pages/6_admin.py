"""Users: administrators add people, set their role, reset passwords, disable, enable and remove."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._state import (browser_time_zone, get_store, page_language, require_role, role_label,
                               show_error)
from app_pages._strategy_ui import flash, show_flash
from core.errors import UserError
from core.formats import format_timestamp, time_zone, zone_label
from core.i18n import _
from core.text import escape_markdown
from strategy.auth import ROLES
from strategy.passwords import MIN_LENGTH
from application.user_workspace import forget_upload
from strategy.preferences import forget_user

user = require_role("admin")
store = get_store()
language = page_language()
zone = time_zone(browser_time_zone())
policy = _("at least {n} characters, not only spaces, not a common password").format(n=MIN_LENGTH)
st.title(_("Users"))
st.caption(_("Analysts propose strategies, compliance reviewers sign off the model and may veto, "
             "managers approve or reject, administrators manage users. Passwords are stored as "
             "argon2 hashes and need {policy}. Every change is recorded in the audit log; "
             "disabling, removing, a new role or a password reset ends the user's open sessions.")
           .format(policy=policy))
show_flash()

users = pd.DataFrame(store.list_users())
if not users.empty:
    shown = users.drop(columns=[c for c in users if "hash" in c])
    shown["role"] = shown["role"].map(role_label)
    if "created_at" in shown:
        shown["created_at"] = [format_timestamp(v, language, zone) for v in shown["created_at"]]
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "username": st.column_config.TextColumn(_("User name")),
        "role": st.column_config.TextColumn(_("Role")),
        "person": st.column_config.TextColumn(_("Person")),
        "disabled": st.column_config.CheckboxColumn(_("Disabled")),
        "created_at": st.column_config.TextColumn(_("Created ({zone})").format(zone=zone_label(zone))),
        "created_by": st.column_config.TextColumn(_("Created by")),
    })
for line in store.role_conflicts():
    st.warning(_("Flagged: {problem}. One person must not hold two review roles "
                 "(four-eyes); disable or remove one identity.").format(problem=escape_markdown(line)))

st.subheader(_("Add a user"))
with st.form("add_user", clear_on_submit=True):
    name = st.text_input(_("User name"))
    role = st.selectbox(_("Role"), ROLES, format_func=role_label)
    person = st.text_input(_("Person (e-mail or employee id; identities of one person never review "
                             "each other's work)"))
    password = st.text_input(_("Initial password (at least {n} characters)").format(n=MIN_LENGTH),
                             type="password")
    submitted = st.form_submit_button(_("Add user"), type="primary")
if submitted:
    try:
        store.add_user(user, name.strip(), role, password, person=person.strip() or None)
    except UserError as err:
        show_error(err)
    else:
        flash("success", _("{name} added as {role}. Give them the initial password in "
                           "person; they sign in with it and change it on their Account page.")
              .format(name=name.strip(), role=role_label(role)))
        st.rerun()

others = [u for u in users.get("username", []) if u != user.username]
if others:
    st.subheader(_("Change a user"))
    who = st.selectbox(_("User"), others)
    current = users.set_index("username").loc[who]
    disabled = bool(current.get("disabled"))
    st.caption((_("{name} is {role}, **disabled**.") if disabled else _("{name} is {role}."))
               .format(name=escape_markdown(who), role=role_label(current["role"])))
    c1, c2, c3, c4 = st.columns(4)
    new_role = c1.selectbox(_("New role"), ROLES, index=ROLES.index(current["role"]), key="new_role",
                            format_func=role_label)
    new_password = c2.text_input(_("New password (at least {n} characters)").format(n=MIN_LENGTH),
                                 type="password", key="new_password")

    def _do(action, done: str) -> None:
        try:
            action()
        except UserError as err:
            show_error(err)
        else:
            flash("success", done)
            st.rerun()

    if c1.button(_("Set role")):
        _do(lambda: store.set_role(user, who, new_role),
            _("{name} is now {role}.").format(name=who, role=role_label(new_role)))
    if c2.button(_("Set password")):
        _do(lambda: store.set_password(user, who, new_password),
            _("Password of {name} changed.").format(name=who))
    if disabled:
        if c3.button(_("Enable account")):
            _do(lambda: store.set_disabled(user, who, False), _("{name} can sign in again.").format(name=who))
    elif c3.button(_("Disable account")):
        _do(lambda: store.set_disabled(user, who, True), _("{name} can no longer sign in.").format(name=who))
    confirm = c4.checkbox(_("Yes, remove {name}").format(name=who), key="confirm_remove")
    if c4.button(_("Remove account"), disabled=not confirm):
        _do(lambda: (store.remove_user(user, who), forget_user(store, who), forget_upload(store, who)),
            _("{name} is removed; their past actions stay in the audit log.").format(name=who))
    if c4.button(_("Clear failed sign-ins")):
        _do(lambda: store.unlock(user, who), _("Failed sign-ins of {name} cleared.").format(name=who))
