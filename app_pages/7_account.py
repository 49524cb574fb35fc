"""Account: the signed-in user chooses the app's language and changes their own password."""
from __future__ import annotations

import streamlit as st

from app_pages._state import (browser_language, browser_time_zone, forget_upload, get_store, page_language,
                              require_role, role_label, saved_upload, show_error)
from core.errors import UserError
from core.formats import format_number, format_timestamp
from core.i18n import LANGUAGES, _, env_language, set_language
from core.text import escape_markdown
from strategy.passwords import MIN_LENGTH
from strategy.preferences import save_language, saved_language

user = require_role()
store = get_store()
st.title(_("Account"))
st.markdown(_("Signed in as **{name}** ({role}).").format(name=escape_markdown(user.username),
                                                          role=role_label(user.role)))

# ---------------------------------------------------------------- language
st.subheader(_("Language"))
FOLLOW = ""  # no saved choice: PERSONAS_LANGUAGE, else the browser's language
saved = saved_language(store, user.username) or FOLLOW
fallback = env_language() or browser_language() or "en"
options = [FOLLOW, *LANGUAGES]
choice = st.selectbox(
    _("Language of the app"), options, index=options.index(saved), key="ui_language_choice",
    format_func=lambda code: (_("Automatic ({language})").format(language=LANGUAGES[fallback])
                              if code == FOLLOW else LANGUAGES[code]),
    help=_("Saved with your account. Pages, messages, numbers, dates and persona names follow it; runs are never "
           "recomputed when it changes. Automatic: the server's setting, else your browser's language."))
if choice != saved:
    save_language(store, user.username, choice or None)
    set_language(choice or fallback)
    st.session_state["ui_language"] = choice or fallback
    st.rerun()

# ---------------------------------------------------------------- password
st.subheader(_("Change your password"))
st.caption(_("The new password needs {policy}. Your other sessions stay signed in; ask an "
             "administrator to end them if you think someone else knows your password.").format(
    policy=_("at least {n} characters, not only spaces, not a common password").format(n=MIN_LENGTH)))
with st.form("change_password", clear_on_submit=True):
    current = st.text_input(_("Current password"), type="password")
    new = st.text_input(_("New password"), type="password")
    repeat = st.text_input(_("New password again"), type="password")
    submitted = st.form_submit_button(_("Change password"), type="primary")
if submitted:
    try:
        if new != repeat:
            raise UserError(_("the two new passwords differ"))
        store.change_own_password(user, current, new)
    except UserError as err:
        show_error(err)
    else:
        st.success(_("Your password is changed."))

# ---------------------------------------------------------------- the upload kept for this user
st.subheader(_("Your upload"))
kept = saved_upload(user)
if kept is None:
    st.caption(_("No file of yours is kept in the workspace; the Portfolio page shows the bundled sample."))
else:
    size = kept.size or 0
    size_text = (f"{format_number(size / 1e6, page_language(), 1)} MB" if size >= 1e6
                 else f"{format_number(size / 1e3, page_language(), 0)} kB")
    st.caption(_("**{name}** ({size}, uploaded {time}) is kept in this app's workspace, shown to you alone, "
                 "with the choices you made for it and your chosen run, so a reload or your next sign-in shows it "
                 "again. It stays until you upload another file (which replaces it) or forget it here; removing "
                 "your account deletes it too.").format(
        name=escape_markdown(kept.filename), size=size_text,
        time=format_timestamp(kept.uploaded_at, page_language(), browser_time_zone())))
    if st.button(_("Forget my upload"), key="forget_upload_account"):
        forget_upload(user)
        st.rerun()
