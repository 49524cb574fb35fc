"""Shared page state: the signed-in user, the current portfolio and run, and the cached library calls.

Pages import from here; nothing here computes anything itself. Results live in Streamlit's caches
(keyed by the data hash and the settings) or in the review database; ``st.session_state`` only holds
the user's current choices (who is signed in, which file, which outcome column).
"""
from __future__ import annotations

import hashlib
import json
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
    """Run settings from the user's current choices (outcome column, seed, persona-name language, and
    whether the settings search runs; the Personas page sets the last three)."""
    from personas.settings import DiscoverySettings, RunSettings

    return RunSettings(
        discovery=DiscoverySettings(search=bool(st.session_state.get("search", True))),
        target=st.session_state.get("target") or None,
        target_event=st.session_state.get("target_event", "paid"),
        target_event_value=st.session_state.get("target_event_value"),
        seed=int(st.session_state.get("seed", 42)),
        language=st.session_state.get("language", "en"),
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


def portfolio_frame_for(run_view):
    """The portfolio frame the run was made from, when it is the chosen one (for guardrail checks)."""
    try:
        portfolio = current_portfolio()
    except UserError:
        return None
    if portfolio.sha256 != run_view.meta.get("data_sha256"):
        return None
    return portfolio.frame


def list_runs() -> list[dict[str, Any]]:
    """Saved runs in the workspace, newest first, as :class:`runs.RunInfo` dicts with a ``label``.

    A folder that fails its signature check is listed with its ``problem`` instead of hidden, so an
    altered run is visible to whoever looks."""
    from runs import list_runs as runs_in

    return [{"run_dir": str(info.path), "run_id": info.run_id, "parent_run_id": info.parent_run_id,
             "created_at": info.created_at, "source_name": info.source_name, "label": info.label,
             "problem": info.problem} for info in runs_in(runs_dir())]
