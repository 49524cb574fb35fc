"""Persona collections: navigation, sign-in and the shared sidebar. Nothing else lives here."""
from __future__ import annotations

import streamlit as st

from app_pages import _session
from app_pages._state import current_user, get_store, list_runs, show_error
from core.errors import UserError
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
    st.caption(
        "Personas, explained risk scores and strategies for delinquent accounts. "
        "The app proposes; people decide."
    )
    if _session.render_hand_over():  # a verified sign-in on its way into the session cookie
        return
    ended = _session.ended_message()
    if ended:
        st.info(f"Your session ended: {ended}. Please sign in again.")
    store = get_store()
    if store.count_users() == 0:
        _first_admin_form(store)
        return
    if _sso_configured():
        st.button("Sign in with your organisation", on_click=st.login, type="primary")
        st.divider()
    with st.form("sign_in"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            user = store.sign_in(username, password, address=_session.client_address())
        except SignInRefused as err:
            st.error(str(err))
            return
        if user is None:
            st.error("User name or password is not correct, or the account is disabled.")
        else:
            _session.begin_hand_over(user)


def _first_admin_form(store) -> None:
    from strategy.passwords import MIN_LENGTH

    _session.announce_setup_token()
    st.info("No user exists yet. Create the first administrator with the one-time setup token "
            "printed on the server console (or run `python -m personas users setup-token`); "
            "they can then add analysts, compliance reviewers and managers on the Users page.")
    with st.form("first_admin"):
        token = st.text_input("Setup token", type="password")
        username = st.text_input("Administrator user name")
        password = st.text_input(f"Password (at least {MIN_LENGTH} characters)", type="password")
        submitted = st.form_submit_button("Create administrator", type="primary")
    if submitted:
        if not username.strip() or not token.strip():
            st.error("Give the setup token and a user name.")
            return
        try:
            store.bootstrap_admin(username.strip(), password, token.strip())
        except UserError as err:
            show_error(err)
            return
        st.success(f"Administrator {username.strip()} created. Sign in below.")
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
        st.markdown(f"**{escape_markdown(user.username)}** · {user.role}")
        if st.button("Sign out", key="sign_out"):
            _session.sign_out(user)
            if _sso_configured() and getattr(st.user, "is_logged_in", False):
                st.logout()
            st.rerun()
        _run_picker()
        st.caption(
            "Risk score = probability that an account is **not** paid within the outcome window "
            "(higher = riskier). Scores and personas are proposals for people to check, not decisions."
        )


def _run_label(run: dict) -> str:
    text = f"{run['created_at'][:16].replace('T', ' ')} · {run['source_name']} · {run['run_id'][-10:]}"
    if run["parent_run_id"]:
        text += f" · edit of …{run['parent_run_id'][-10:]}"
    return text


def _run_picker() -> None:
    """Choose which saved run the Explanations, Strategies and Audit pages show."""
    runs = list_runs()
    if not runs:
        st.caption("No saved run yet.")
        return
    usable = [r for r in runs if not r["problem"]]
    refused = len(runs) - len(usable)
    if refused:
        st.caption(f"{refused} run folder(s) failed their integrity check and are not offered.")
    if not usable:
        return
    dirs = [r["run_dir"] for r in usable]
    labels = {r["run_dir"]: _run_label(r) for r in usable}
    current = st.session_state.get("run_dir")
    if current not in dirs:
        current = dirs[0]
    st.session_state["run_dir"] = st.selectbox("Run", dirs, index=dirs.index(current),
                                               format_func=labels.get)


def main() -> None:
    # Compile umap/hdbscan's numba kernels while the analyst signs in, not on their first click.
    from application.warmup import warm_up_in_background

    warm_up_in_background()
    user = current_user()  # re-read from the database through the session cookie, every rerun
    if user is None and _sso_configured() and "_handoff_ticket" not in st.session_state:
        sso = _sso_user()
        if sso is not None:
            _session.begin_hand_over(sso, source="oidc")
    if user is None:
        st.navigation([st.Page(_sign_in_page, title="Sign in", icon="🔑")]).run()
        return
    _sidebar(user)
    pages = {
        "Analyse": [
            st.Page("app_pages/1_portfolio.py", title="Portfolio", icon="📥", default=True),
            st.Page("app_pages/2_personas.py", title="Personas", icon="🧭"),
            st.Page("app_pages/3_explanations.py", title="Explanations", icon="🔍"),
        ],
        "Decide": [
            st.Page("app_pages/4_strategies.py", title="Strategies", icon="✅"),
            st.Page("app_pages/5_audit.py", title="Audit", icon="📜"),
        ],
        "You": [st.Page("app_pages/7_account.py", title="Account", icon="🔐")],
    }
    if user.role == "admin":
        pages["Administer"] = [st.Page("app_pages/6_admin.py", title="Users", icon="👥")]
    st.navigation(pages).run()


main()
