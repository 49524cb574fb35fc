"""Shared page state: the signed-in user, the current portfolio and run, and the cached library calls.

Pages import from here; nothing here computes anything itself. Results live in Streamlit's caches
(keyed by the data hash and the settings) or in the review database; ``st.session_state`` only holds
the user's current choices (who is signed in, which file, which outcome column).
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import UserError
from core.workspace import database_url, runs_dir

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "sample_portfolio.csv"

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
    from core.i18n import _

    user = current_user()
    if user is None:
        st.warning(_("Please sign in first."))
        st.stop()
    if roles and user.role not in roles and user.role != "admin":
        st.error(_("This action needs the role {roles}; you are signed in as {role}.").format(
            roles=_(" or ").join(role_label(r) for r in roles), role=role_label(user.role)))
        st.stop()
    return user


# ---------------------------------------------------------------- display language
def browser_language() -> str | None:
    """The browser's language when the app speaks it: ``st.context.locale`` (navigator.language),
    else the ``Accept-Language`` header; ``None`` otherwise (or without a browser)."""
    from core.i18n import language_from_accept, normalise_language

    try:
        found = normalise_language(st.context.locale)
        if found:
            return found
        return language_from_accept(st.context.headers.get("Accept-Language"))
    except Exception:  # no browser connection (a bare script run)
        return None


def ui_language(user=None) -> str:
    """The language the app speaks to ``user``: their saved choice (Account page), else
    ``PERSONAS_LANGUAGE``, else the browser's language, else English."""
    from core.i18n import env_language, resolve_language
    from strategy.preferences import saved_language

    saved = saved_language(get_store(), user.username) if user is not None else None
    return resolve_language(saved, env_language(), browser_language())


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


def role_label(role: str) -> str:
    """A role as the reader's language names it ("compliance" -> "Compliance-Prüfer·in" …)."""
    from core.i18n import N_, _

    labels = {"analyst": N_("analyst"), "manager": N_("manager"),
              "compliance": N_("compliance reviewer"), "admin": N_("administrator")}
    return _(labels[role]) if role in labels else role


def page_language() -> str:
    """The language of the page being drawn (set by :func:`apply_language`)."""
    from core.i18n import current_language

    return current_language()


def browser_time_zone() -> str | None:
    """The browser's IANA time zone (``st.context.timezone``), ``None`` without one (shown as UTC)."""
    try:
        zone = st.context.timezone
    except Exception:
        return None
    return zone if isinstance(zone, str) and zone else None


# ---------------------------------------------------------------- portfolio
@dataclass(frozen=True)
class PortfolioChoice:
    """What the user picked on the Portfolio page: a file's bytes and name, a role mapping, and the
    currency its amounts are in when it has no currency column (``None``: unknown)."""

    data: bytes
    filename: str
    sha256: str
    mapping_json: str = "{}"
    currency: str | None = None


def sample_choice() -> PortfolioChoice:
    data = SAMPLE_PATH.read_bytes()  # the bundled sample is a German export in euros (sample_data/README.md)
    return PortfolioChoice(data, SAMPLE_PATH.name, hashlib.sha256(data).hexdigest(), currency="EUR")


def portfolio_choice() -> PortfolioChoice:
    choice = st.session_state.get("portfolio_choice")
    return choice if choice is not None else sample_choice()


def set_portfolio_choice(data: bytes, filename: str, mapping: dict[str, str] | None = None) -> None:
    st.session_state["portfolio_choice"] = PortfolioChoice(
        data, filename, hashlib.sha256(data).hexdigest(), json.dumps(mapping or {}, sort_keys=True)
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_portfolio(sha256: str, filename: str, mapping_json: str, _data: bytes):
    from portfolio.load import load_portfolio

    mapping = json.loads(mapping_json) or None
    return load_portfolio(_data, filename=filename, mapping=mapping)


def current_portfolio():
    """The chosen portfolio (the bundled sample by default) as ``portfolio.load.Portfolio``.

    Raises :class:`UserError` when the file cannot be read; pages show that with ``show_error``.
    """
    from core.i18n import _

    choice = portfolio_choice()
    with st.spinner(_("Reading the portfolio…")):
        return _load_portfolio(choice.sha256, choice.filename, choice.mapping_json, choice.data)


# ---------------------------------------------------------------- run settings and the pipeline
def current_settings():
    """Run settings from the user's current choices (outcome column, seed and whether the settings search
    runs; the Personas page sets the last two). The language is the page's: it only says which of the
    run's names (every run names its personas in English and German) is ``persona_name``, and runs are
    never matched by it (``app_pages._personas_ui.settings_match``)."""
    from personas.settings import DiscoverySettings, RunSettings

    return RunSettings(
        discovery=DiscoverySettings(search=bool(st.session_state.get("search", True))),
        target=st.session_state.get("target") or None,
        target_event=st.session_state.get("target_event", "paid"),
        target_event_value=st.session_state.get("target_event_value"),
        seed=int(st.session_state.get("seed", 42)),
        language=page_language(),
        currency=currency_setting(),
    )


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


def _current_run_key() -> tuple[str, str] | None:
    """``(run folder, manifest fingerprint)`` of the chosen run: a run rewritten on disk gets a new
    key, so no page is served a stale cached copy. Raises :class:`UserError` for a folder that is
    not a signed run."""
    run_dir = st.session_state.get("run_dir")
    if not run_dir:
        return None
    from runs import manifest_fingerprint

    return run_dir, manifest_fingerprint(run_dir)


def current_run():
    """The run the user last produced or opened (``application.pipeline.RunResult``), or ``None``."""
    from core.i18n import _

    key = _current_run_key()
    if not key:
        return None
    with st.spinner(_("Loading the run…")):
        return _load_run(*key)


@st.cache_resource(show_spinner=False, max_entries=8)
def _load_run(run_dir: str, fingerprint: str):
    from application.pipeline import load_run

    run = load_run(Path(run_dir))  # verifies the signature and every file's hash
    if run.fingerprint != fingerprint:
        from core.i18n import _

        raise UserError(_("{folder}: the run changed while it was being opened; open it again.").format(
            folder=run_dir))
    return run


def show_error(err: UserError) -> None:
    """Show a user error as one clear message per problem, never a traceback; as text, because
    messages quote names, reasons and file names people supplied."""
    from core.text import escape_markdown

    lines = getattr(err, "lines", None) or [str(err)]
    st.error("\n\n".join(escape_markdown(line) for line in lines))


# ---------------------------------------------------------------- review views of the current run
@st.cache_resource(show_spinner=False, max_entries=8)
def _run_view(run_dir: str, fingerprint: str):
    from strategy.run_view import load_run_view

    view = load_run_view(run_dir)  # verifies the signature and every file's hash
    if view.folder.fingerprint != fingerprint:
        from core.i18n import _

        raise UserError(_("{folder}: the run changed while it was being opened; open it again.").format(
            folder=run_dir))
    return view


def current_run_view():
    """The current run as the review workflow sees it (``strategy.run_view.RunView``), or ``None``."""
    key = _current_run_key()
    return _run_view(*key) if key else None


def portfolio_of(run):
    """The chosen portfolio when it is the one ``run`` (a run or run view) was made from, else ``None``."""
    try:
        portfolio = current_portfolio()
    except UserError:
        return None
    return portfolio if portfolio.sha256 == run.meta.get("data_sha256") else None


def portfolio_frame_for(run_view):
    """The portfolio frame the run was made from, when it is the chosen one (for guardrail checks)."""
    portfolio = portfolio_of(run_view)
    return portfolio.frame if portfolio is not None else None


def list_runs() -> list[dict[str, Any]]:
    """Saved runs in the workspace, newest first, as :class:`runs.RunInfo` dicts with a ``label``.

    A folder that fails its signature check is listed with its ``problem`` instead of hidden, so an
    altered run is visible to whoever looks."""
    from runs import list_runs as runs_in

    return [{"run_dir": str(info.path), "run_id": info.run_id, "parent_run_id": info.parent_run_id,
             "created_at": info.created_at, "source_name": info.source_name, "label": info.label,
             "problem": info.problem} for info in runs_in(runs_dir())]


# ---------------------------------------------------------------- the user's workspace: upload and run survive a reload
# ``application.user_workspace`` keeps the upload's bytes in the workspace and a per-user record in the review
# database. A new Streamlit session of a signed-in user (a reload, a bookmark, signing in again) restores them
# once; afterwards every rerun writes back what changed (``remember_workspace``, called by ``app.py``).
_RESTORED_FOR = "_workspace_restored_for"
_REMEMBERED = "_workspace_remembered"
_NOTICES = "_workspace_notices"
UPLOAD_GENERATION = "upload_generation"
#: Run folders this session refused to restore (the sidebar does not offer them either).
REFUSED_RUNS = "_workspace_refused_runs"


@st.cache_data(show_spinner=False)
def _sample_sha256(mtime_ns: int) -> str:
    return hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest()


def _choice_sha256() -> str:
    choice = st.session_state.get("portfolio_choice")
    return choice.sha256 if choice is not None else _sample_sha256(SAMPLE_PATH.stat().st_mtime_ns)


def _session_choices() -> dict[str, Any]:
    from application.user_workspace import CHOICE_KEYS

    choice = st.session_state.get("portfolio_choice")
    choices: dict[str, Any] = {"mapping_json": choice.mapping_json if choice is not None else "{}"}
    for key in CHOICE_KEYS:
        if key in st.session_state:
            choices[key] = st.session_state[key]
    return json.loads(json.dumps(choices, sort_keys=True, default=str))


def _chosen_run_id() -> str | None:
    """The chosen run's id when it is a folder of this workspace's runs folder, else ``None``."""
    from runs import RunFolderError, check_run_id

    run_dir = st.session_state.get("run_dir")
    if not run_dir:
        return None
    path = Path(run_dir)
    if path.parent != runs_dir():
        return None
    try:
        return check_run_id(path.name)
    except RunFolderError:
        return None


def _snapshot() -> list:
    """``[data SHA-256, choices, run id]`` as they would be kept: choices only for an upload (never for the
    bundled sample, which the next session shows anyway), the run always."""
    kept = bool(st.session_state.get("upload_id")) and "portfolio_choice" in st.session_state
    choices = [_choice_sha256(), _session_choices()] if kept else [None, None]
    return json.loads(json.dumps([*choices, _chosen_run_id()], sort_keys=True, default=str))


def restore_workspace(user) -> None:
    """Once per Streamlit session and user: bring back the user's upload (read and validated again through
    :func:`current_portfolio`'s cache, like any upload), the choices made for it, and the chosen run when it
    still verifies. What cannot be restored is said in one line each (:func:`workspace_notices`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from application import user_workspace as workspace
    from core.i18n import _
    from core.text import escape_markdown

    if user is None or st.session_state.get(_RESTORED_FOR) == user.username:
        return
    st.session_state[_RESTORED_FOR] = user.username
    notices: list[str] = []
    try:
        found = workspace.restorable(get_store(), user.username,
                                     want_upload="portfolio_choice" not in st.session_state)
    except (OSError, UserError, SQLAlchemyError) as err:
        print(f"persona-collections: the workspace of {user.username!r} could not be read: {err}",
              file=sys.stderr, flush=True)
        st.session_state[_NOTICES] = [_("Your last upload and run could not be read from the workspace; "
                                        "the bundled sample is shown.")]
        st.session_state[_REMEMBERED] = None
        return
    record = found.record
    if found.lost_upload is not None:
        notices.append(_("Your upload {name} is no longer in the workspace (or was changed there); the "
                         "bundled sample is shown.").format(name=escape_markdown(found.lost_upload)))
    elif found.data is not None:
        st.session_state["portfolio_choice"] = PortfolioChoice(found.data, record.filename, record.sha256,
                                                               found.mapping_json)
        st.session_state["upload_id"] = f"restored:{record.sha256}"
    if "portfolio_choice" in st.session_state:
        for key, value in found.choices_for(_choice_sha256()).items():
            if key not in st.session_state:
                st.session_state[key] = value
    if record is not None and record.run_id and "run_dir" not in st.session_state:
        _restore_run(record.run_id, notices)
    st.session_state[_NOTICES] = notices
    st.session_state[_REMEMBERED] = _snapshot()


def _restore_run(run_id: str, notices: list[str]) -> None:
    from application.user_workspace import verified_run_chain
    from core.i18n import _

    try:
        folder, root = verified_run_chain(runs_dir(), run_id)
    except UserError:
        notices.append(_("The run you had chosen ({run}) is missing or failed its integrity check; it was not "
                         "restored.").format(run=run_id))
        st.session_state[REFUSED_RUNS] = [*st.session_state.get(REFUSED_RUNS, []), str(runs_dir() / run_id)]
        return
    st.session_state["run_dir"] = str(folder.path)
    if folder.parent_run_id:  # an edited run: the Personas page shows it over the run it was edited from
        st.session_state["persona_edited_dir"] = str(folder.path)
        st.session_state["persona_edited_base"] = root.run_id


def workspace_notices() -> list[str]:
    """What could not be restored for this session (each line shown once)."""
    return st.session_state.pop(_NOTICES, None) or []


def remember_workspace(user) -> None:
    """Write back what changed since the last rerun: the choices made for the current data and the chosen
    run. Only for the user whose workspace this session restored (a session cleared by signing out, or
    taken over by another user, writes nothing)."""
    from sqlalchemy.exc import SQLAlchemyError

    from application import user_workspace as workspace

    if user is None or st.session_state.get(_RESTORED_FOR) != user.username:
        return
    snapshot = _snapshot()
    before = st.session_state.get(_REMEMBERED) or [None, None, None]
    if snapshot == before:
        return
    store = get_store()
    try:
        if snapshot[:2] != before[:2] and snapshot[0] is not None:
            workspace.save_choices(store, user.username, snapshot[0], snapshot[1])
        if snapshot[2] != before[2]:
            workspace.save_run_choice(store, user.username, snapshot[2])
    except (OSError, UserError, SQLAlchemyError) as err:  # the page keeps working; the next rerun tries again
        print(f"persona-collections: the workspace of {user.username!r} could not be saved: {err}",
              file=sys.stderr, flush=True)
        return
    st.session_state[_REMEMBERED] = snapshot


def remember_upload(user, choice: PortfolioChoice) -> None:
    """Keep ``choice`` (a file the user just uploaded) in the workspace as the user's upload; the previous
    one is deleted. A failure is shown, and the upload still works for this session."""
    from sqlalchemy.exc import SQLAlchemyError

    from application import user_workspace as workspace
    from core.i18n import _

    if user is None:
        return
    try:
        workspace.save_upload(get_store(), user.username, choice.data, choice.filename)
    except (OSError, UserError, SQLAlchemyError) as err:
        print(f"persona-collections: the upload of {user.username!r} could not be kept: {err}",
              file=sys.stderr, flush=True)
        st.warning(_("The file could not be kept in the workspace: after a reload the bundled sample is shown "
                     "again."))
        return
    st.session_state[_RESTORED_FOR] = user.username
    st.session_state[_REMEMBERED] = None  # the choices for the new data are written at the end of this rerun


def saved_upload(user):
    """The user's upload record kept in the workspace (``application.user_workspace.SavedWorkspace``) when
    it holds an upload, else ``None``."""
    from application.user_workspace import saved_workspace

    record = saved_workspace(get_store(), getattr(user, "username", None))
    return record if record is not None and record.sha256 else None


def forget_upload(user) -> None:
    """Delete the user's kept upload and its record; this session goes back to the bundled sample."""
    from application import user_workspace as workspace

    workspace.forget_upload(get_store(), user.username)
    for key in ("portfolio_choice", "upload_id", "target", "target_event", "target_event_value",
                "amount_unit_choice"):
        st.session_state.pop(key, None)
    st.session_state[UPLOAD_GENERATION] = int(st.session_state.get(UPLOAD_GENERATION, 0)) + 1  # empties the uploader
    st.session_state[_RESTORED_FOR] = user.username
    st.session_state[_REMEMBERED] = _snapshot()  # nothing is written back until the user chooses again
