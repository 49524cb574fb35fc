"""What a signed-in user was working on, kept in the workspace so a reload, a bookmark or the next
sign-in finds it again: the uploaded portfolio file, the choices made on it, and the chosen run.

Files: the upload's bytes under ``<workspace>/uploads/<user key>/<sha256>.<ext>`` (one file per user;
the user key is the SHA-256 of the user name, so no name ever becomes a path). Folders are 0700,
files 0600, written atomically (a temporary file renamed into place) and opened relative to their
folder with ``O_NOFOLLOW`` at every step, so a symbolic link planted in the workspace is refused,
never followed. A file is used again only when its bytes still hash to the recorded SHA-256.

Record: one row per user in the review database (table ``user_workspace``, created on first use as
``strategy/preferences.py`` creates its table, in a ``MetaData`` of its own). The database, not a
JSON file beside the upload, because it already holds every per-user record (users, sessions,
preferences): it is written transactionally, a removed user's row is found by name, and whoever can
write the workspace cannot point another user's record at their file. The record holds the upload's
original file name and SHA-256, the choices made on the Portfolio page for that data (column
mapping, outcome column and its coding, currency, the Personas page's seed and search switch) and
the chosen run's id, checked against the strict run-id pattern before it is ever used as a path.

A workspace record is a convenience, not a review decision: it is not written to the audit log.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import stat
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import UserError
from core.i18n import _
from core.workspace import workspace_dir
from strategy.preferences import create_once

UPLOADS = "uploads"
#: Days a kept upload (personal data of debtors) stays in the workspace before it is deleted
#: (:func:`sweep_expired_uploads`); ``PERSONAS_UPLOAD_MAX_DAYS`` sets another whole number of days.
UPLOAD_MAX_DAYS = 30
#: Extensions an upload is stored under (its format is read from the recorded original name).
EXTENSIONS = ("csv", "txt", "xlsx", "parquet")
#: Session choices kept with the upload (``st.session_state`` keys; JSON values only).
CHOICE_KEYS = ("target", "target_event", "target_event_value", "amount_unit_choice", "seed", "search")
_STORED_NAME = re.compile(r"^[0-9a-f]{64}\.[a-z]{1,8}$")
_USER_KEY = re.compile(r"^[0-9a-f]{64}$")

_metadata = MetaData()
user_workspace = Table(
    "user_workspace", _metadata,
    Column("username", String(200), primary_key=True),
    Column("filename", String(500), nullable=True),        # the upload's original name (NULL: no upload kept)
    Column("sha256", String(64), nullable=True),
    Column("size", Integer, nullable=True),
    Column("uploaded_at", String(40), nullable=True),
    Column("choices_sha256", String(64), nullable=True),   # the data the choices were made for
    Column("choices", Text, nullable=True),                # JSON: mapping_json and CHOICE_KEYS
    Column("run_id", String(40), nullable=True),
    Column("updated_at", String(40), nullable=False),
)



@dataclass(frozen=True)
class SavedWorkspace:
    """One user's record; ``data`` holds the upload's bytes when they were read back and verified."""

    username: str
    filename: str | None = None
    sha256: str | None = None
    size: int | None = None
    uploaded_at: str | None = None
    choices_sha256: str | None = None
    choices: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None


def _engine(store_or_engine: Any) -> Engine:
    return getattr(store_or_engine, "engine", store_or_engine)


def ensure_table(store_or_engine: Any) -> None:
    """Create the table if the database lacks it (once per engine and process)."""
    create_once(store_or_engine, user_workspace)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def user_key(username: str) -> str:
    """The folder name of ``username``'s uploads: SHA-256 of the name (never the name itself)."""
    return hashlib.sha256(username.encode("utf-8")).hexdigest()


def stored_name(sha256: str, filename: str) -> str:
    """``<sha256>.<ext>`` with the original name's extension when it is a known one (else ``bin``)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return f"{sha256}.{ext if ext in EXTENSIONS else 'bin'}"


# ---------------------------------------------------------------- folders and files, never through a link
def _open_dir(parent_fd: int | None, name: str, create: bool) -> int | None:
    """A descriptor of the folder ``name`` (in ``parent_fd``), created 0700 when asked; a symbolic link
    or a non-folder is refused; ``None`` when it does not exist and ``create`` is false."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    if create:
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            pass
    try:
        fd = os.open(name, flags, dir_fd=parent_fd)
    except FileNotFoundError:
        return None
    except OSError:  # ELOOP (a symbolic link) or ENOTDIR (a file)
        raise UserError(_("{folder}: not a folder the app made (a symbolic link or a file); refused.").format(
            folder=name)) from None
    info = os.fstat(fd)
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o700:
        os.fchmod(fd, 0o700)
    return fd


def _user_dir(username: str, create: bool) -> int | None:
    """A descriptor of ``<workspace>/uploads/<user key>`` (``None`` when it does not exist)."""
    root = os.open(str(workspace_dir()), os.O_RDONLY | os.O_DIRECTORY)
    try:
        uploads = _open_dir(root, UPLOADS, create)
    finally:
        os.close(root)
    if uploads is None:
        return None
    try:
        return _open_dir(uploads, user_key(username), create)
    finally:
        os.close(uploads)


def upload_path(username: str, record: SavedWorkspace):
    """Where ``record``'s upload lies (for tests and the docs; the app opens it through descriptors)."""
    return workspace_dir() / UPLOADS / user_key(username) / stored_name(record.sha256 or "", record.filename or "")


def _write_file(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``name`` atomically (0600): a new temporary file, flushed, then renamed over it."""
    temporary = f".{name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


def _read_file(dir_fd: int, name: str) -> bytes | None:
    """The bytes of the regular file ``name`` (never through a link), ``None`` when missing or not one."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read()


def _remove_others(dir_fd: int, keep: str | None) -> None:
    """Delete every entry of the user's folder except ``keep`` (one upload per user)."""
    for entry in os.listdir(dir_fd):
        if entry == keep:
            continue
        try:
            os.unlink(entry, dir_fd=dir_fd)
        except IsADirectoryError:
            pass
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------- the record
def _row(store_or_engine: Any, username: str):
    engine = _engine(store_or_engine)
    ensure_table(engine)
    with engine.connect() as conn:
        return conn.execute(select(user_workspace).where(user_workspace.c.username == username)).first()


def _upsert(store_or_engine: Any, username: str, **values: Any) -> None:
    engine = _engine(store_or_engine)
    ensure_table(engine)
    values["updated_at"] = _now()
    with engine.begin() as conn:
        done = conn.execute(update(user_workspace).where(user_workspace.c.username == username)
                            .values(**values)).rowcount
        if not done:
            try:
                conn.execute(insert(user_workspace).values(username=username, **values))
            except IntegrityError:  # written by another request meanwhile: this one wins
                conn.execute(update(user_workspace).where(user_workspace.c.username == username)
                             .values(**values))


def _as_record(row) -> SavedWorkspace | None:
    if row is None:
        return None
    try:
        choices = json.loads(row.choices) if row.choices else {}
    except ValueError:
        choices = {}
    return SavedWorkspace(row.username, row.filename, row.sha256, row.size, row.uploaded_at, row.choices_sha256,
                          choices if isinstance(choices, dict) else {}, row.run_id)


def saved_workspace(store_or_engine: Any, username: str | None) -> SavedWorkspace | None:
    """``username``'s record, or ``None``."""
    return _as_record(_row(store_or_engine, username)) if username else None


def save_upload(store_or_engine: Any, username: str, data: bytes, filename: str) -> SavedWorkspace:
    """Keep ``data`` (uploaded as ``filename``) as ``username``'s current upload; the previous file of
    the user is deleted, and choices made for other data no longer apply."""
    sha256 = hashlib.sha256(data).hexdigest()
    filename = filename[:500]
    name = stored_name(sha256, filename)
    dir_fd = _user_dir(username, create=True)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)  # two tabs of one user uploading at once: one file, one record
        _write_file(dir_fd, name, data)
        _upsert(store_or_engine, username, filename=filename, sha256=sha256, size=len(data),
                uploaded_at=_now())
        _remove_others(dir_fd, keep=name)
    finally:
        os.close(dir_fd)
    return saved_workspace(store_or_engine, username)


def read_upload(username: str, record: SavedWorkspace) -> bytes | None:
    """The bytes of ``record``'s upload when the file is still there and still hashes to the recorded
    SHA-256; ``None`` otherwise."""
    if not record.sha256 or not record.filename:
        return None
    name = stored_name(record.sha256, record.filename)
    if not _STORED_NAME.fullmatch(name):
        return None
    dir_fd = _user_dir(username, create=False)
    if dir_fd is None:
        return None
    try:
        data = _read_file(dir_fd, name)
    finally:
        os.close(dir_fd)
    if data is None or hashlib.sha256(data).hexdigest() != record.sha256:
        return None
    return data


def save_choices(store_or_engine: Any, username: str, data_sha256: str, choices: dict[str, Any]) -> None:
    """Keep the choices made for the data with ``data_sha256`` (JSON values only)."""
    _upsert(store_or_engine, username, choices_sha256=data_sha256,
            choices=json.dumps(choices, sort_keys=True, default=str))


def save_run_choice(store_or_engine: Any, username: str, run_id: str | None) -> None:
    """Keep ``run_id`` as ``username``'s chosen run (checked against the run-id pattern first)."""
    from runs import check_run_id

    _upsert(store_or_engine, username, run_id=check_run_id(run_id) if run_id is not None else None)


def drop_upload(store_or_engine: Any, username: str) -> None:
    """Delete ``username``'s upload file (if any) and clear the upload from the record; the chosen run stays."""
    _remove_user_dir(username)
    if saved_workspace(store_or_engine, username) is not None:
        _upsert(store_or_engine, username, filename=None, sha256=None, size=None, uploaded_at=None,
                choices_sha256=None, choices=None)


def forget_upload(store_or_engine: Any, username: str) -> None:
    """Delete ``username``'s upload file and the record (choices and chosen run included)."""
    _remove_user_dir(username)
    engine = _engine(store_or_engine)
    ensure_table(engine)
    with engine.begin() as conn:
        conn.execute(delete(user_workspace).where(user_workspace.c.username == username))


def _remove_user_dir(username_or_key: str, *, is_key: bool = False) -> None:
    root = os.open(str(workspace_dir()), os.O_RDONLY | os.O_DIRECTORY)
    try:
        uploads = _open_dir(root, UPLOADS, create=False)
    finally:
        os.close(root)
    if uploads is None:
        return
    key = username_or_key if is_key else user_key(username_or_key)
    try:
        try:
            folder = _open_dir(uploads, key, create=False)
        except UserError:  # not a folder: remove the entry itself
            os.unlink(key, dir_fd=uploads)
            return
        if folder is not None:
            try:
                _remove_others(folder, keep=None)
            finally:
                os.close(folder)
            try:
                os.rmdir(key, dir_fd=uploads)
            except OSError:
                pass
    finally:
        os.close(uploads)


def sweep_removed_users(store: Any) -> int:
    """Delete the uploads and records of users who no longer exist; the number of users swept."""
    known = {row["username"] for row in store.list_users()}
    keys = {user_key(name) for name in known}
    engine = _engine(store)
    ensure_table(engine)
    with engine.connect() as conn:
        recorded = [row.username for row in conn.execute(select(user_workspace.c.username))]
    gone = [name for name in recorded if name not in known]
    for name in gone:
        forget_upload(store, name)
    uploads = workspace_dir() / UPLOADS
    swept = len(gone)
    if uploads.is_dir() and not uploads.is_symlink():
        for entry in os.listdir(uploads):
            if _USER_KEY.fullmatch(entry) and entry not in keys:
                _remove_user_dir(entry, is_key=True)
                swept += 1
    return swept


def upload_max_days() -> int:
    """Days an upload is kept: ``PERSONAS_UPLOAD_MAX_DAYS`` (a whole number of at least 1) or
    :data:`UPLOAD_MAX_DAYS`. A value that is not such a number is said on the server console and the
    default applies (a typo must not keep debtors' data for ever, nor delete it at once)."""
    raw = os.environ.get("PERSONAS_UPLOAD_MAX_DAYS", "").strip()
    if not raw:
        return UPLOAD_MAX_DAYS
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    print(f"persona-collections: PERSONAS_UPLOAD_MAX_DAYS={raw!r} is not a whole number of days of at least 1; "
          f"kept uploads are deleted after {UPLOAD_MAX_DAYS} days", file=sys.stderr, flush=True)
    return UPLOAD_MAX_DAYS


def sweep_expired_uploads(store: Any, now: datetime | None = None) -> dict[str, str]:
    """Delete every kept upload older than :func:`upload_max_days` (file and the record's upload; the
    user's chosen run stays); ``{username: original file name}`` of those deleted. An upload whose
    time stamp cannot be read counts as expired: it is personal data of unknown age."""
    limit = (now or datetime.now(timezone.utc)) - timedelta(days=upload_max_days())
    engine = _engine(store)
    ensure_table(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(user_workspace.c.username, user_workspace.c.filename,
                                   user_workspace.c.uploaded_at).where(user_workspace.c.sha256.is_not(None))).all()
    expired = {}
    for row in rows:
        try:
            uploaded = datetime.fromisoformat(row.uploaded_at)
            uploaded = uploaded if uploaded.tzinfo else uploaded.replace(tzinfo=timezone.utc)
        except (TypeError, ValueError):
            uploaded = None
        if uploaded is None or uploaded < limit:
            try:
                drop_upload(store, row.username)
            except (OSError, UserError) as err:  # one user's folder must not stop everyone's sign-in
                print(f"persona-collections: the expired upload of {row.username!r} could not be deleted: {err}",
                      file=sys.stderr, flush=True)
                continue
            expired[row.username] = row.filename or ""
    return expired


# ---------------------------------------------------------------------------------- restoring a session
@dataclass(frozen=True)
class Restorable:
    """What a new session of a user can take back (:func:`restorable`)."""

    record: SavedWorkspace | None
    data: bytes | None = None          # the upload's bytes, read back and verified
    lost_upload: str | None = None     # the original name of an upload whose file is gone (record cleared now)
    expired_upload: str | None = None  # the original name of an upload deleted now for its age

    @property
    def mapping_json(self) -> str:
        """The column mapping kept for the upload (``"{}"`` when the choices were made for other data)."""
        record = self.record
        if record is None or record.choices_sha256 != record.sha256:
            return "{}"
        return str(record.choices.get("mapping_json", "{}"))

    def choices_for(self, data_sha256: str) -> dict[str, Any]:
        """The kept session choices (``CHOICE_KEYS``) when they were made for the data ``data_sha256``."""
        record = self.record
        if record is None or record.choices_sha256 != data_sha256:
            return {}
        return {key: record.choices[key] for key in CHOICE_KEYS if key in record.choices}


def restorable(store: Any, username: str, *, want_upload: bool) -> Restorable:
    """``username``'s record and, with ``want_upload``, the upload's verified bytes; an upload whose file
    is gone or changed is cleared from the record (said once: the next session does not look again).
    Users removed since, and every user's upload older than :func:`upload_max_days`, are swept first.
    Raises ``OSError``, ``UserError`` or SQLAlchemy's errors when the workspace cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    sweep_removed_users(store)
    expired = sweep_expired_uploads(store)
    record = saved_workspace(store, username)
    if username in expired:
        return Restorable(record, expired_upload=expired[username])
    if not (want_upload and record is not None and record.sha256):
        return Restorable(record)
    data = read_upload(username, record)
    if data is not None:
        return Restorable(record, data)
    try:
        drop_upload(store, username)
    except (OSError, UserError, SQLAlchemyError) as err:
        print(f"persona-collections: the upload of {username!r} could not be dropped: {err}", file=sys.stderr,
              flush=True)
    return Restorable(record, lost_upload=record.filename)


def verified_run_chain(runs_root: Any, run_id: str) -> tuple[Any, Any]:
    """``(run, root)``: the verified run folder ``run_id`` and, for an edited run, the verified run it was
    edited from at the start of its chain (else the run itself). Raises ``UserError`` when any is missing
    or fails its integrity check."""
    from runs import open_run, run_path

    folder = root = open_run(run_path(runs_root, run_id))
    for _depth in range(50):
        if not root.parent_run_id:
            break
        root = open_run(run_path(runs_root, root.parent_run_id))
    return folder, root
