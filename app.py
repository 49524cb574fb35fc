"""Persona collections: navigation, sign-in and the shared sidebar. Nothing else lives here."""
from __future__ import annotations

import streamlit as st

from app_pages import _session
from app_pages._state import (REFUSED_RUNS, apply_language, browser_time_zone, current_user, get_store, list_runs,
                               remember_workspace, restore_workspace, role_label, show_error, workspace_notices)
from core.errors import UserError
from core.formats import format_timestamp
from core.i18n import _, ngettext
from core.text import escape_markdown

st.set_page_config(page_title="Persona collections", page_icon="📂", layout="wide")


def _sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def _sign_in_page() -> None:
    from strategy.signin import SignInRefused

    st.title("Persona collections")
    st.caption(_("Personas, explained risk scores and strategies for delinquent accounts. "
                 "The app proposes; people decide."))
    if _session.render_hand_over():  # a verified sign-in on its way into the session cookie
        return
    ended = _session.ended_message()
    if ended:
        st.info(_("Your session ended: {reason}. Please sign in again.").format(reason=ended))
    store = get_store()
    if store.count_users() == 0:
        _first_admin_form(store)
        return
    if _sso_configured():
        st.button(_("Sign in with your organisation"), on_click=st.login, type="primary")
        st.divider()
    with st.form("sign_in"):
        username = st.text_input(_("User name"))
        password = st.text_input(_("Password"), type="password")
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if submitted:
        try:
            user = store.sign_in(username, password, address=_session.client_address())
        except SignInRefused as err:
            st.error(str(err))
            return
        if user is None:
            st.error(_("User name or password is not correct, or the account is disabled."))
        else:
            _session.begin_hand_over(user)


def _first_admin_form(store) -> None:
    from strategy.passwords import MIN_LENGTH

    _session.announce_setup_token()
    st.info(_("No user exists yet. Create the first administrator with the one-time setup token "
              "printed on the server console (or run `python -m personas users setup-token`); "
              "they can then add analysts, compliance reviewers and managers on the Users page."))
    with st.form("first_admin"):
        token = st.text_input(_("Setup token"), type="password")
        username = st.text_input(_("Administrator user name"))
        password = st.text_input(_("Password (at least {n} characters)").format(n=MIN_LENGTH),
                                 type="password")
        submitted = st.form_submit_button(_("Create administrator"), type="primary")
    if submitted:
        if not username.strip() or not token.strip():
            st.error(_("Give the setup token and a user name."))
            return
        try:
            store.bootstrap_admin(username.strip(), password, token.strip())
        except UserError as err:
            show_error(err)
            return
        st.success(_("Administrator {name} created. Sign in below.").format(name=username.strip()))
        st.rerun()


def _sso_user():
    """A single sign-on identity (``st.login``) that is an enabled user of the review database;
    its role comes from the database, never from the identity provider."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    return get_store().sign_in_sso(str(st.user.get("email", "")),
                                   address=_session.client_address())


def _sidebar(user) -> None:
    with st.sidebar:
        st.markdown(f"**{escape_markdown(user.username)}** · {role_label(user.role)}")
        if st.button(_("Sign out"), key="sign_out"):
            _session.sign_out(user)
            if _sso_configured() and getattr(st.user, "is_logged_in", False):
                st.logout()
            st.rerun()
        _run_picker()
        st.caption(_("Risk score = probability that an account is **not** paid within the outcome window "
                     "(higher = riskier). Scores and personas are proposals for people to check, not decisions."))


def _run_label(run: dict) -> str:
    created = format_timestamp(run["created_at"], zone=browser_time_zone())
    text = f"{created} · {run['source_name']} · {run['run_id'][-10:]}"
    if run["parent_run_id"]:
        text += " · " + _("edit of …{run}").format(run=run["parent_run_id"][-10:])
    return text


def _run_picker() -> None:
    """Choose which saved run the Explanations, Strategies and Audit pages show."""
    runs = list_runs()
    if not runs:
        st.caption(_("No saved run yet."))
        return
    refused_here = set(st.session_state.get(REFUSED_RUNS, []))  # failed the full check when restored
    usable = [r for r in runs if not r["problem"] and r["run_dir"] not in refused_here]
    refused = len(runs) - len(usable)
    if refused:
        st.caption(ngettext("{n} run folder failed its integrity check and is not offered.",
                             "{n} run folders failed their integrity check and are not offered.",
                             refused).format(n=refused))
    if not usable:
        return
    dirs = [r["run_dir"] for r in usable]
    labels = {r["run_dir"]: _run_label(r) for r in usable}
    current = st.session_state.get("run_dir")
    if current not in dirs:
        current = dirs[0]
    st.session_state["run_dir"] = st.selectbox(_("Run"), dirs, index=dirs.index(current),
                                               format_func=labels.get)


def main() -> None:
    # Compile umap/hdbscan's numba kernels while the analyst signs in, not on their first click.
    from application.warmup import warm_up_in_background

    warm_up_in_background()
    user = current_user()  # re-read from the database through the session cookie, every rerun
    apply_language(user)  # the user's saved language, else PERSONAS_LANGUAGE, else the browser's
    if user is None and _sso_configured() and "_handoff_ticket" not in st.session_state:
        sso = _sso_user()
        if sso is not None:
            _session.begin_hand_over(sso, source="oidc")
    if user is None:
        st.navigation([st.Page(_sign_in_page, title=_("Sign in"), icon="🔑")]).run()
        return
    restore_workspace(user)  # a new session (reload, bookmark, sign-in): the user's upload and chosen run
    _sidebar(user)
    for notice in workspace_notices():
        st.warning(notice)
    pages = {
        _("Analyse"): [
            st.Page("app_pages/1_portfolio.py", title=_("Portfolio"), icon="📥", default=True),
            st.Page("app_pages/2_personas.py", title=_("Personas"), icon="🧭"),
            st.Page("app_pages/3_explanations.py", title=_("Explanations"), icon="🔍"),
        ],
        _("Decide"): [
            st.Page("app_pages/4_strategies.py", title=_("Strategies"), icon="✅"),
            st.Page("app_pages/5_audit.py", title=_("Audit"), icon="📜"),
        ],
        _("Monthly cycle"): [
            st.Page("app_pages/8_drift.py", title=_("Drift"), icon="📈"),
            st.Page("app_pages/9_kpis.py", title=_("KPIs"), icon="💶"),
        ],
        _("You"): [st.Page("app_pages/7_account.py", title=_("Account"), icon="🔐")],
    }
    if user.role == "admin":
        pages[_("Administer")] = [st.Page("app_pages/6_admin.py", title=_("Users"), icon="👥")]
    try:
        st.navigation(pages).run()
    finally:  # also after st.stop() or st.rerun() inside the page
        remember_workspace(user)


main()
