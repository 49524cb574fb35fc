"""What a session works on (portfolio file, run, the choices made for them), decided without Streamlit.

``app_pages/_state.py`` keeps the session's choices in ``st.session_state`` and the loaded results in
Streamlit's caches; the decisions behind them live here so they can be tested on plain dicts: which
portfolio is chosen, which run settings the choices give, which run a session restores and what it
says about what it could not restore, and what is written back to the user's workspace record
(:mod:`application.user_workspace`). ``session`` arguments are read-only mappings of the session's
choices (``st.session_state`` in the app); functions return what to set instead of setting it.

The workspace: ``application.user_workspace`` keeps the upload's bytes in the workspace and a per-user
record in the review database. A new Streamlit session of a signed-in user (a reload, a bookmark,
signing in again) restores them once (:func:`restored_session`); afterwards every rerun writes back what
changed (:func:`remembered_session`; ``remember_workspace``, called by ``app.py``).
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections import ChainMap
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from core.errors import UserError
from core.i18n import _

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "sample_portfolio.csv"
#: Session keys that hold the upload and the choices made for it (dropped when the upload is forgotten).
UPLOAD_KEYS = ("portfolio_choice", "upload_id", "target", "target_event", "target_event_value",
               "amount_unit_choice")
#: Session keys of the workspace's bookkeeping: whose workspace this session restored, the snapshot last
#: written back, the notices still to show, the run folders refused (the sidebar does not offer them
#: either), and the file uploader's generation (a new one empties it).
RESTORED_FOR = "_workspace_restored_for"
REMEMBERED = "_workspace_remembered"
NOTICES = "_workspace_notices"
REFUSED_RUNS = "_workspace_refused_runs"
UPLOAD_GENERATION = "upload_generation"


# ---------------------------------------------------------------- the chosen portfolio
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
    """The bundled sample, shown until the user uploads a file (a German export in euros,
    ``sample_data/README.md``)."""
    data = SAMPLE_PATH.read_bytes()
    return PortfolioChoice(data, SAMPLE_PATH.name, hashlib.sha256(data).hexdigest(), currency="EUR")


def uploaded_choice(data: bytes, filename: str, mapping: dict[str, str] | None = None) -> PortfolioChoice:
    """An uploaded file as a choice; the mapping is kept as sorted JSON so equal mappings give equal
    cache keys."""
    return PortfolioChoice(data, filename, hashlib.sha256(data).hexdigest(),
                           json.dumps(mapping or {}, sort_keys=True))


def read_portfolio(data: bytes, filename: str, mapping_json: str):
    """``portfolio.load.Portfolio`` from a chosen file; the column mapping comes as its sorted JSON (the
    form a cache key holds, :func:`uploaded_choice`), ``"{}"`` for none. Raises :class:`UserError` when
    the file cannot be read."""
    from portfolio.load import load_portfolio

    return load_portfolio(data, filename=filename, mapping=json.loads(mapping_json) or None)


@lru_cache(maxsize=4)
def _sample_sha256(mtime_ns: int) -> str:
    return hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest()


def choice_sha256(choice: PortfolioChoice | None) -> str:
    """The SHA-256 of the chosen data (the bundled sample's without a choice): the choices kept in the
    workspace apply only to the data they were made for."""
    return choice.sha256 if choice is not None else _sample_sha256(SAMPLE_PATH.stat().st_mtime_ns)


def run_settings(session: Mapping[str, Any], language: str, currency: str | None):
    """``personas.settings.RunSettings`` from the session's choices (outcome column and its coding, seed,
    whether the settings search runs), with the defaults a new session starts from."""
    from personas.settings import DiscoverySettings, RunSettings

    return RunSettings(
        discovery=DiscoverySettings(search=bool(session.get("search", True))),
        target=session.get("target") or None,
        target_event=session.get("target_event", "paid"),
        target_event_value=session.get("target_event_value"),
        seed=int(session.get("seed", 42)),
        language=language,
        currency=currency,
    )


def same_data(portfolio: Any, run: Any) -> bool:
    """Whether ``portfolio`` holds the data ``run`` (a run or run view) was made from (by SHA-256)."""
    return portfolio.sha256 == run.meta.get("data_sha256")


# ---------------------------------------------------------------- runs
def run_key(run_dir: str | None) -> tuple[str, str] | None:
    """``(run folder, manifest fingerprint)`` of a chosen run folder, ``None`` without one: a run
    rewritten on disk gets a new key, so no cache serves a stale copy. Raises :class:`UserError` for a
    folder that is not a signed run."""
    if not run_dir:
        return None
    from runs import manifest_fingerprint

    return run_dir, manifest_fingerprint(run_dir)


def _refuse_changed(found: str | None, fingerprint: str, run_dir: str) -> None:
    """A run rewritten between making its key and reading it is refused, not shown under the old key."""
    if found != fingerprint:
        raise UserError(_("{folder}: the run changed while it was being opened; open it again.").format(
            folder=run_dir))


def load_unchanged_run(run_dir: str, fingerprint: str):
    """The run in ``run_dir`` (``application.pipeline.RunResult``; its signature and every file's hash
    verified) when it still has the manifest ``fingerprint`` its cache key was made with."""
    from application.pipeline import load_run

    run = load_run(Path(run_dir))
    _refuse_changed(run.fingerprint, fingerprint, run_dir)
    return run


def load_unchanged_run_view(run_dir: str, fingerprint: str):
    """The review workflow's view of ``run_dir`` (``strategy.run_view.RunView``, verified like
    :func:`load_unchanged_run`) when it still has the manifest ``fingerprint``."""
    from strategy.run_view import load_run_view

    view = load_run_view(run_dir)
    _refuse_changed(view.folder.fingerprint, fingerprint, run_dir)
    return view


def list_runs(runs_root: Path | None = None) -> list[dict[str, Any]]:
    """Saved runs in the workspace (or ``runs_root``), newest first, as :class:`runs.RunInfo` dicts with
    a ``label``.

    A folder that fails its signature check is listed with its ``problem`` instead of hidden, so an
    altered run is visible to whoever looks."""
    from core.workspace import runs_dir
    from runs import list_runs as runs_in

    return [{"run_dir": str(info.path), "run_id": info.run_id, "parent_run_id": info.parent_run_id,
             "created_at": info.created_at, "source_name": info.source_name, "label": info.label,
             "problem": info.problem} for info in runs_in(runs_root or runs_dir())]


def chosen_run_id(run_dir: str | None, runs_root: Path) -> str | None:
    """The id of the chosen run folder when it lies in this workspace's runs folder (only such a run is
    kept in the workspace record), else ``None``."""
    from runs import RunFolderError, check_run_id

    if not run_dir:
        return None
    path = Path(run_dir)
    if path.parent != runs_root:
        return None
    try:
        return check_run_id(path.name)
    except RunFolderError:
        return None


def error_lines(err: UserError) -> list[str]:
    """The lines of a user error, one per problem (its message when it has no lines)."""
    return getattr(err, "lines", None) or [str(err)]


def error_text(err: UserError) -> str:
    """A user error as the page shows it: one paragraph per problem, as text (messages quote names,
    reasons and file names people supplied, which must not be read as Markdown)."""
    from core.text import escape_markdown

    return "\n\n".join(escape_markdown(line) for line in error_lines(err))


# ---------------------------------------------------------------- the reader's language
def browser_language(locale: Any, accept_language: str | None) -> str | None:
    """The browser's language when the app speaks it: its locale (navigator.language), else the best
    fit of its ``Accept-Language`` header; ``None`` otherwise."""
    from core.i18n import language_from_accept, normalise_language

    return normalise_language(locale) or language_from_accept(accept_language)


def user_language(store: Any, username: str | None, browser: str | None) -> str:
    """The language the app speaks to ``username``: their saved choice (Account page), else
    ``PERSONAS_LANGUAGE``, else the browser's language, else English."""
    from core.i18n import env_language, resolve_language
    from strategy.preferences import saved_language

    saved = saved_language(store, username) if username is not None else None
    return resolve_language(saved, env_language(), browser)


# ---------------------------------------------------------------- the user's workspace record
def session_choices(session: Mapping[str, Any]) -> dict[str, Any]:
    """The choices kept for the chosen data: its column mapping and the session's ``CHOICE_KEYS``,
    as JSON values (what the record can hold)."""
    from application.user_workspace import CHOICE_KEYS

    choice = session.get("portfolio_choice")
    choices: dict[str, Any] = {"mapping_json": choice.mapping_json if choice is not None else "{}"}
    choices.update({key: session[key] for key in CHOICE_KEYS if key in session})
    return json.loads(json.dumps(choices, sort_keys=True, default=str))


def snapshot(session: Mapping[str, Any], runs_root: Path) -> list:
    """``[data SHA-256, choices, run id]`` as they would be kept: choices only for an upload (never for
    the bundled sample, which the next session shows anyway), the run always. Equal snapshots mean
    nothing needs writing back."""
    kept = bool(session.get("upload_id")) and "portfolio_choice" in session
    choices = [choice_sha256(session.get("portfolio_choice")), session_choices(session)] if kept else [None, None]
    return json.loads(json.dumps([*choices, chosen_run_id(session.get("run_dir"), runs_root)],
                                 sort_keys=True, default=str))


def _log(what: str, err: Exception) -> None:
    """A workspace failure goes to the server log; the page keeps working without the workspace."""
    print(f"persona-collections: {what}: {err}", file=sys.stderr, flush=True)


def read_restorable(store: Any, username: str, *, want_upload: bool):
    """:func:`application.user_workspace.restorable`, or ``None`` (logged) when the workspace cannot
    be read: the session then starts from the bundled sample."""
    from sqlalchemy.exc import SQLAlchemyError

    from application.user_workspace import restorable

    try:
        return restorable(store, username, want_upload=want_upload)
    except (OSError, UserError, SQLAlchemyError) as err:
        _log(f"the workspace of {username!r} could not be read", err)
        return None


def unreadable_notice() -> str:
    """The one line a session shows when its workspace could not be read."""
    return _("Your last upload and run could not be read from the workspace; the bundled sample is shown.")


@dataclass(frozen=True)
class Restoration:
    """What a new session takes back: session keys to set, one notice per thing it could not restore,
    and the run folder it refused (the sidebar does not offer it either)."""

    updates: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    refused_run: str | None = None


def restored_session(store: Any, username: str, session: Mapping[str, Any], runs_root: Path) -> dict[str, Any]:
    """The session keys to set so that a new session of ``username`` (holding ``session``) takes back their
    workspace, once per session and user (``{}`` afterwards): the upload unless the session already chose
    a file, the choices made for it and the chosen run (:func:`restoration`), the notices, and the snapshot
    that is written back only when it changes. A workspace that cannot be read is said in one line."""
    if session.get(RESTORED_FOR) == username:
        return {}
    found = read_restorable(store, username, want_upload="portfolio_choice" not in session)
    if found is None:
        return {RESTORED_FOR: username, NOTICES: [unreadable_notice()], REMEMBERED: None}
    restored = restoration(found, session, runs_root)
    updates = {RESTORED_FOR: username, **restored.updates, NOTICES: restored.notices}
    if restored.refused_run:
        updates[REFUSED_RUNS] = [*session.get(REFUSED_RUNS, []), restored.refused_run]
    updates[REMEMBERED] = snapshot(ChainMap(updates, session), runs_root)
    return updates


def remembered_session(store: Any, username: str, session: Mapping[str, Any], runs_root: Path) -> dict[str, Any]:
    """Write back what changed since the last rerun (the choices made for the current data, the chosen
    run) and return the session keys to set then; ``{}`` when nothing changed, when the write failed (the
    next rerun tries again), or when this session did not restore ``username``'s workspace (a session
    cleared by signing out, or taken over by another user, writes nothing)."""
    if session.get(RESTORED_FOR) != username:
        return {}
    now, before = snapshot(session, runs_root), session.get(REMEMBERED)
    if now == (before or [None, None, None]) or not write_back(store, username, now, before):
        return {}
    return {REMEMBERED: now}


def restoration(found: Any, session: Mapping[str, Any], runs_root: Path) -> Restoration:
    """What to restore from ``found`` (:class:`application.user_workspace.Restorable`) into a session
    that holds ``session``: the upload (unless the session already chose a file), the choices made for
    the chosen data (never over a choice the session already holds), and the chosen run when it still
    verifies."""
    from application.user_workspace import upload_max_days
    from core.text import escape_markdown

    record, updates, notices = found.record, {}, []
    if found.expired_upload is not None:
        notices.append(_("Your upload {name} has been deleted: uploads are kept for at most {days} days (they "
                         "hold debtors' personal data). Upload it again to go on; the bundled sample is shown.")
                       .format(name=escape_markdown(found.expired_upload), days=upload_max_days()))
    elif found.lost_upload is not None:
        notices.append(_("Your upload {name} is no longer in the workspace (or was changed there); the "
                         "bundled sample is shown.").format(name=escape_markdown(found.lost_upload)))
    elif found.data is not None:
        updates["portfolio_choice"] = PortfolioChoice(found.data, record.filename, record.sha256,
                                                      found.mapping_json)
        updates["upload_id"] = f"restored:{record.sha256}"
    if "portfolio_choice" in session or "portfolio_choice" in updates:
        chosen = updates.get("portfolio_choice", session.get("portfolio_choice"))
        updates.update({key: value for key, value in found.choices_for(choice_sha256(chosen)).items()
                        if key not in session})
    if record is None or not record.run_id or "run_dir" in session:
        return Restoration(updates, notices)
    run = run_restoration(runs_root, record.run_id)
    return Restoration({**updates, **run.updates}, notices + run.notices, run.refused_run)


def run_restoration(runs_root: Path, run_id: str) -> Restoration:
    """The chosen run as session keys when it and the runs it was edited from still verify (an edited
    run is shown over the run its chain starts from), else a notice and the refused folder."""
    from application.user_workspace import verified_run_chain

    try:
        folder, root = verified_run_chain(runs_root, run_id)
    except UserError:
        return Restoration(notices=[_("The run you had chosen ({run}) is missing or failed its integrity check; "
                                      "it was not restored.").format(run=run_id)],
                           refused_run=str(runs_root / run_id))
    updates = {"run_dir": str(folder.path)}
    if folder.parent_run_id:
        updates.update(persona_edited_dir=str(folder.path), persona_edited_base=root.run_id)
    return Restoration(updates)


def write_back(store: Any, username: str, now: list, before: list | None) -> bool:
    """Write the parts of snapshot ``now`` that differ from ``before`` to the user's record; ``False``
    (logged) when the workspace could not be written, so the next rerun tries again."""
    from sqlalchemy.exc import SQLAlchemyError

    from application import user_workspace as workspace

    before = before or [None, None, None]
    try:
        if now[:2] != before[:2] and now[0] is not None:
            workspace.save_choices(store, username, now[0], now[1])
        if now[2] != before[2]:
            workspace.save_run_choice(store, username, now[2])
    except (OSError, UserError, SQLAlchemyError) as err:
        _log(f"the workspace of {username!r} could not be saved", err)
        return False
    return True


def after_forgetting(username: str, session: Mapping[str, Any], runs_root: Path) -> dict[str, Any]:
    """The session keys to set once ``username``'s upload was forgotten and its keys (``UPLOAD_KEYS``)
    dropped from ``session``: a new uploader (its generation counts up, which empties it), and the
    snapshot as already written, so nothing is written back until the user chooses again."""
    return {UPLOAD_GENERATION: int(session.get(UPLOAD_GENERATION, 0)) + 1, RESTORED_FOR: username,
            REMEMBERED: snapshot(session, runs_root)}


def kept_upload(store: Any, username: str | None):
    """The user's record (``application.user_workspace.SavedWorkspace``) when it holds an upload, else
    ``None`` (no record, or a record that only keeps a chosen run)."""
    from application.user_workspace import saved_workspace

    record = saved_workspace(store, username)
    return record if record is not None and record.sha256 else None


def keep_upload(store: Any, username: str, choice: PortfolioChoice) -> bool:
    """Keep ``choice`` as the user's upload in the workspace; ``False`` (logged) when it could not be
    kept (the upload still works for the session)."""
    from sqlalchemy.exc import SQLAlchemyError

    from application.user_workspace import save_upload

    try:
        save_upload(store, username, choice.data, choice.filename)
    except (OSError, UserError, SQLAlchemyError) as err:
        _log(f"the upload of {username!r} could not be kept", err)
        return False
    return True
