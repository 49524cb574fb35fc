"""Shared page state: the signed-in user, the current portfolio and run, and the cached library calls.

Pages import from here; nothing here computes anything itself (what to restore, write back or show is
decided in ``application.workspace_state`` and ``application.review_actions``). Results live in Streamlit's
caches (keyed by the data hash and the settings) or in the review database; ``st.session_state`` only holds
the user's current choices (who is signed in, which file, which outcome column).
"""
from __future__ import annotations

import streamlit as st

from application import workspace_state as decide
from application.review_actions import access_refusal, role_label  # noqa: F401  (role_label: for the pages)
from application.workspace_state import (REFUSED_RUNS, SAMPLE_PATH, UPLOAD_GENERATION,  # noqa: F401  (imported
                                         PortfolioChoice, list_runs, sample_choice)          # by the pages)
from core.errors import UserError
from core.i18n import _
from core.i18n import current_language as page_language  # noqa: F401  (the page's; set by apply_language)
from core.workspace import database_url, runs_dir

# How often the pipeline really ran in this process (app tests assert page switches reuse the cache).
PIPELINE_CALLS = {"count": 0}


# ---------------------------------------------------------------- review store and user
@st.cache_resource(show_spinner=False)
def _store(url: str):
    from strategy.store import ReviewStore

    return ReviewStore(url)


def get_store():
    """The review database (SQLite file in the workspace, or ``PERSONAS_DB_URL``)."""
    return _store(database_url())


def current_user():
    """The signed-in user (``strategy.auth.User``) or ``None``, re-read from the review database
    on every call through the browser's session cookie (``app_pages/_session.py``)."""
    from app_pages import _session

    return _session.current_user()


def require_role(*roles: str):
    """Stop the page unless the signed-in user holds one of ``roles``; return the user."""
    user = current_user()
    refusal = access_refusal(user, roles)
    if refusal is not None:
        kind, text = refusal
        getattr(st, kind)(text)
        st.stop()
    return user


# ---------------------------------------------------------------- display language
def browser_language() -> str | None:
    """The browser's language when the app speaks it: ``st.context.locale`` (navigator.language),
    else the ``Accept-Language`` header; ``None`` otherwise (or without a browser)."""
    try:
        return decide.browser_language(st.context.locale, st.context.headers.get("Accept-Language"))
    except Exception:  # no browser connection (a bare script run)
        return None


def ui_language(user=None) -> str:
    """The language the app speaks to ``user``: their saved choice (Account page), else
    ``PERSONAS_LANGUAGE``, else the browser's language, else English."""
    return decide.user_language(get_store(), getattr(user, "username", None), browser_language())


def apply_language(user=None) -> str:
    """Set the current language for this rerun (``core.i18n``) and return it; ``app.py`` calls it
    before anything is drawn. It is also kept as ``ui_language`` in the session state for pages."""
    from core.i18n import set_language

    language = set_language(ui_language(user))
    st.session_state["ui_language"] = language
    return language


def restore_language() -> str:
    """In a widget callback (which runs before ``app.py``): set the session's language again."""
    from core.i18n import set_language

    return set_language(st.session_state.get("ui_language"))


def browser_time_zone() -> str | None:
    """The browser's IANA time zone (``st.context.timezone``), ``None`` without one (shown as UTC)."""
    try:
        zone = st.context.timezone
    except Exception:
        return None
    return zone if isinstance(zone, str) and zone else None


# ---------------------------------------------------------------- portfolio
def portfolio_choice() -> PortfolioChoice:
    choice = st.session_state.get("portfolio_choice")
    return choice if choice is not None else sample_choice()


def set_portfolio_choice(data: bytes, filename: str, mapping: dict[str, str] | None = None) -> None:
    st.session_state["portfolio_choice"] = decide.uploaded_choice(data, filename, mapping)


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_portfolio(sha256: str, filename: str, mapping_json: str, _data: bytes):
    return decide.read_portfolio(_data, filename, mapping_json)


def current_portfolio():
    """The chosen portfolio (the bundled sample by default) as ``portfolio.load.Portfolio``.

    Raises :class:`UserError` when the file cannot be read; pages show that with ``show_error``.
    """
    choice = portfolio_choice()
    with st.spinner(_("Reading the portfolio…")):
        return _load_portfolio(choice.sha256, choice.filename, choice.mapping_json, choice.data)


# ---------------------------------------------------------------- run settings and the pipeline
def current_settings():
    """Run settings from the user's current choices (outcome column, seed and whether the settings search
    runs; the Personas page sets the last two). The language is the page's: it only says which of the
    run's names (every run names its personas in English and German) is ``persona_name``, and runs are
    never matched by it (``app_pages._personas_ui.settings_match``)."""
    return decide.run_settings(st.session_state, page_language(), currency_setting())


def currency_setting() -> str | None:
    """The currency the user set on the Portfolio page, else the chosen portfolio's default (EUR for
    the bundled sample), else ``None``; a currency column in the portfolio wins over it."""
    if "amount_unit_choice" in st.session_state:  # set on the Portfolio page ("" = unknown)
        return st.session_state["amount_unit_choice"] or None
    return portfolio_choice().currency


def current_currency(portfolio):
    """The run's currency for ``portfolio`` (:func:`portfolio.currency.portfolio_currency`)."""
    from portfolio.currency import portfolio_currency

    return portfolio_currency(portfolio.frame, portfolio.roles, currency_setting())


def current_run():
    """The run the user last produced or opened (``application.pipeline.RunResult``), or ``None``."""
    key = decide.run_key(st.session_state.get("run_dir"))  # a run rewritten on disk: a new key
    if not key:
        return None
    with st.spinner(_("Loading the run…")):
        return _load_run(*key)


@st.cache_resource(show_spinner=False, max_entries=8)
def _load_run(run_dir: str, fingerprint: str):
    return decide.load_unchanged_run(run_dir, fingerprint)


def show_error(err: UserError) -> None:
    """Show a user error as one clear message per problem, never a traceback; as text, because
    messages quote names, reasons and file names people supplied."""
    st.error(decide.error_text(err))


# ---------------------------------------------------------------- review views of the current run
@st.cache_resource(show_spinner=False, max_entries=8)
def _run_view(run_dir: str, fingerprint: str):
    return decide.load_unchanged_run_view(run_dir, fingerprint)


def current_run_view():
    """The current run as the review workflow sees it (``strategy.run_view.RunView``), or ``None``."""
    key = decide.run_key(st.session_state.get("run_dir"))  # a run rewritten on disk: a new key
    return _run_view(*key) if key else None


def portfolio_of(run):
    """The chosen portfolio when it is the one ``run`` (a run or run view) was made from, else ``None``."""
    try:
        portfolio = current_portfolio()
    except UserError:
        return None
    return portfolio if decide.same_data(portfolio, run) else None


def portfolio_frame_for(run_view):
    """The portfolio frame the run was made from, when it is the chosen one (for guardrail checks)."""
    portfolio = portfolio_of(run_view)
    return portfolio.frame if portfolio is not None else None


# ---------------------------------------------------------------- the user's workspace: upload and run survive a reload
def restore_workspace(user) -> None:
    """Once per Streamlit session and user: bring back the user's upload (read and validated again through
    :func:`current_portfolio`'s cache, like any upload), the choices made for it, and the chosen run when it
    still verifies. What cannot be restored is said in one line each (:func:`workspace_notices`)."""
    if user is not None:
        st.session_state.update(decide.restored_session(get_store(), user.username, st.session_state, runs_dir()))


def workspace_notices() -> list[str]:
    """What could not be restored for this session (each line shown once)."""
    return st.session_state.pop(decide.NOTICES, None) or []


def remember_workspace(user) -> None:
    """Write back what changed since the last rerun: the choices made for the current data and the chosen
    run. Only for the user whose workspace this session restored (a session cleared by signing out, or
    taken over by another user, writes nothing)."""
    if user is not None:
        st.session_state.update(decide.remembered_session(get_store(), user.username, st.session_state, runs_dir()))


def remember_upload(user, choice: PortfolioChoice) -> None:
    """Keep ``choice`` (a file the user just uploaded) in the workspace as the user's upload; the previous
    one is deleted. A failure is shown, and the upload still works for this session."""
    if user is None:
        return
    if not decide.keep_upload(get_store(), user.username, choice):
        st.warning(_("The file could not be kept in the workspace: after a reload the bundled sample is shown "
                     "again."))
        return
    st.session_state[decide.RESTORED_FOR] = user.username
    st.session_state[decide.REMEMBERED] = None  # the choices for the new data are written at the end of this rerun


def saved_upload(user):
    """The user's upload record kept in the workspace (``application.user_workspace.SavedWorkspace``) when
    it holds an upload, else ``None``."""
    return decide.kept_upload(get_store(), getattr(user, "username", None))


def forget_upload(user) -> None:
    """Delete the user's kept upload and its record; this session goes back to the bundled sample."""
    from application import user_workspace as workspace

    workspace.forget_upload(get_store(), user.username)
    for key in decide.UPLOAD_KEYS:
        st.session_state.pop(key, None)
    st.session_state.update(decide.after_forgetting(user.username, st.session_state, runs_dir()))
