"""The review store: users, sessions, strategy versions, persona mappings, overrides, settings, audit log.

``ReviewStore(url)`` opens (and creates) the database: a SQLite file by default (created with mode
0600), PostgreSQL by URL. Every mutation takes the acting :class:`~strategy.auth.User`, checks its
role, and writes the change and its audit entry in one transaction; on SQLite writers take the lock
up front (``BEGIN IMMEDIATE``) so concurrent sessions queue instead of interleaving. After the
commit the new audit head is anchored outside the database (:mod:`strategy.anchor`). Users live in
:mod:`strategy.users`, sign-in and sessions in :mod:`strategy.signin`, the mapping workflow
(propose, edit, approve, reject and veto) in :mod:`strategy.workflow`, champion/challenger
experiments under the same four-eyes review in :mod:`strategy.experiment_workflow`, account
overrides (with a second person) and the review queue of held accounts in
:mod:`strategy.review_queue`. Tables and columns added after the first release are created on open
(new tables by ``create_all``, new columns by ``_add_missing_columns``), on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from core.errors import UserError
from core.workspace import database_url
from strategy import anchor, audit
from strategy import preferences  # noqa: F401  registers user_preferences on the shared MetaData
from strategy import tables as t
from strategy.auth import User, require
from strategy.experiment_workflow import ExperimentWorkflow
from strategy.queries import MappingQueries
from strategy.review_queue import AccountReview
from strategy.settings import SecuritySettings, StrategySettings
from strategy.signin import SignIn
from strategy.users import UserAdmin
from strategy.workflow import MappingWorkflow

KILL_SWITCH_KEY = "kill_switch"
# Columns added after the first release: (table, column, SQL type); added on open when missing.
_ADDED_COLUMNS = (("users", "person", "VARCHAR(200)"),
                  ("account_overrides", "status", "VARCHAR(20)"),
                  ("account_overrides", "decided_by", "VARCHAR(200)"),
                  ("account_overrides", "decided_at", "VARCHAR(40)"),
                  ("account_overrides", "decision_reason", "TEXT"),
                  ("vetoes", "scope", "VARCHAR(20)"),
                  ("strategy_versions", "evidence_codes", "TEXT"),
                  ("mappings", "reason_text", "TEXT"))


def normalise_url(db: str | Path | None) -> str:
    """A SQLAlchemy URL from a URL, a file path, or ``None`` (the workspace default)."""
    if db is None or str(db) == "":
        return database_url()
    text_ = str(db)
    if "://" in text_:
        return text_
    path = Path(text_).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (with the umask's 0644), and take
    read access from others on an existing one; the WAL and shared-memory files follow the mode."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            info = candidate.stat()
        except FileNotFoundError:
            continue
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            candidate.chmod(stat.S_IMODE(info.st_mode) & 0o600)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class ReviewStore(UserAdmin, SignIn, MappingWorkflow, ExperimentWorkflow, AccountReview,
                  MappingQueries):
    """Open the review database at ``url`` (file path or SQLAlchemy URL), creating tables.

    Parameters
    ----------
    url : str or Path, optional
        ``sqlite:///file.db``, ``postgresql+psycopg://...``, or a plain file path. Default:
        :func:`core.workspace.database_url`.
    settings : StrategySettings, optional
        Guardrail thresholds used when checking approvals, and the export's sign-off rule.
    security : SecuritySettings, optional
        Session timeouts, sign-in lockout and ticket lifetimes.
    """

    def __init__(self, url: str | Path | None = None, *,
                 settings: StrategySettings | None = None,
                 security: SecuritySettings | None = None) -> None:
        self.url = normalise_url(url)
        self.settings = settings or StrategySettings()
        self.security = security or SecuritySettings()
        try:
            self.engine = create_engine(self.url)
        except (ArgumentError, ModuleNotFoundError) as err:
            raise UserError(f"cannot open the review database {self.url!r}: {err}") from None
        if self.engine.dialect.name == "sqlite":
            _private_sqlite_file(self.url)
            _sqlite_setup(self.engine)
        try:
            t.metadata.create_all(self.engine)
        except OperationalError:  # another process created the tables at the same moment
            t.metadata.create_all(self.engine)
        self._add_missing_columns()
        anchor.check_writable()
        self.anchor_path = anchor.anchor_file(self.url)
        with self._write() as conn:
            existing = set(conn.execute(select(t.settings.c.key)).scalars())
            now = audit.now_utc()
            for key, value in ((audit.HEAD_KEY, audit.initial_head()),
                               (KILL_SWITCH_KEY, json.dumps({"on": False, "reason": ""})),
                               (audit.DATABASE_ID_KEY, secrets.token_hex(16))):
                if key not in existing:
                    conn.execute(insert(t.settings).values(key=key, value=value,
                                                           updated_by="system", updated_at=now))
            self.database_id = audit.database_id(conn)
            seq, head = audit.read_head(conn)
            if seq and not self.anchor_path.exists() and audit.DATABASE_ID_KEY not in existing:
                # A database from before anchoring: its current head is trusted once, from now on.
                anchor.advance(self.anchor_path, self.database_id, seq, head, now)

    def _add_missing_columns(self) -> None:
        columns = {table: {c["name"] for c in inspect(self.engine).get_columns(table)}
                   for table in {table for table, _c, _t in _ADDED_COLUMNS}}
        for table, column, sql_type in _ADDED_COLUMNS:
            if column not in columns[table]:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
                except (OperationalError, ProgrammingError):
                    # another process added it at the same moment
                    if column not in {c["name"] for c in inspect(self.engine).get_columns(table)}:
                        raise

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction holding the database write lock; rolled back on any error.

        Audit entries appended inside it are anchored (:mod:`strategy.anchor`) once it commits.
        """
        appended: list[audit.AuditEntry] = []
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True, audit_appended=appended)
            with conn.begin():
                yield conn
        if appended:
            newest = appended[-1]
            anchor.advance(self.anchor_path, self.database_id, newest.seq, newest.entry_hash,
                           newest.time, self._entry_hash_at)

    def _entry_hash_at(self, seq: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.audit_log.c.entry_hash)
                                .where(t.audit_log.c.seq == seq)).scalar()

    transaction = _write  # public name for modules writing with the store's lock (export)

    # --- kill switch --------------------------------------------------------------------------
    def kill_switch(self) -> dict[str, Any]:
        """``{"on": bool, "reason": str, "updated_by": str, "updated_at": str}``."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.settings).where(t.settings.c.key == KILL_SWITCH_KEY)).one()
        return {**json.loads(row.value), "updated_by": row.updated_by, "updated_at": row.updated_at}

    def set_kill_switch(self, actor: User, on: bool, reason: str = "") -> None:
        """Turn the kill switch on (all exports refused) or off; a reason is required to turn it on."""
        require(actor, "kill_switch")
        if on and not reason.strip():
            raise UserError("say why exports are being stopped (a reason is required)")
        with self._write() as conn:
            conn.execute(update(t.settings).where(t.settings.c.key == KILL_SWITCH_KEY).values(
                value=json.dumps({"on": bool(on), "reason": reason.strip()}),
                updated_by=actor.username, updated_at=audit.now_utc()))
            audit.append(conn, actor, "kill_switch_on" if on else "kill_switch_off",
                         details={"reason": reason.strip()})

    # --- runs and edits ----------------------------------------------------------------------
    def record_run(self, actor: User, run: Any, *, edit: dict[str, Any] | None = None) -> None:
        """Record a saved discovery run (``run_created``) or persona edit (``persona_edited``).

        ``run`` is the saved run's :class:`~strategy.run_view.RunView`; ``edit`` the edit as
        :mod:`personas.edits` describes it (action, persona ids, new name), for an edit.
        """
        require(actor, "register_run")
        meta = run.meta
        details: dict[str, Any] = {"data_sha256": meta.get("data_sha256"),
                                   "source_name": meta.get("source_name"),
                                   "personas": len(run.profiles),
                                   "created_by": meta.get("created_by")}
        if edit is not None:
            details.update(parent_run_id=meta.get("parent_run_id"),
                           edit={k: v for k, v in edit.items() if k != "at"})
        with self._write() as conn:
            audit.append(conn, actor, "persona_edited" if edit is not None else "run_created",
                         run_id=run.run_id, content=run.personas_hash(), details=details)

    def record_outcomes(self, actor: User, run: Any, note: dict[str, Any]) -> None:
        """Record payments kept in a run folder (``outcomes_loaded``): which file (name and SHA-256),
        which load, how many payments were kept, so the read-out's inputs are on the audit trail."""
        require(actor, "register_run")
        rows = note.get("rows") or {}
        details = {"file": note.get("file"), "file_sha256": note.get("sha256"), "load": note.get("load"),
                   "payments_saved": rows.get("saved"), "total_amount": note.get("total_amount"),
                   "payments_not_in_run": note.get("payments_not_in_run")}
        with self._write() as conn:
            audit.append(conn, actor, "outcomes_loaded", run_id=run.run_id, content=note.get("sha256"),
                         details=details)

    # --- audit queries ------------------------------------------------------------------------
    def audit_entries(self, *, user: str | None = None, action: str | None = None,
                      run_id: str | None = None, limit: int | None = None,
                      newest_first: bool = False) -> list[audit.AuditEntry]:
        """Audit entries, optionally filtered by user, action and run."""
        query = select(t.audit_log)
        for column, value in ((t.audit_log.c.user, user), (t.audit_log.c.action, action),
                              (t.audit_log.c.run_id, run_id)):
            if value is not None:
                query = query.where(column == value)
        order = t.audit_log.c.seq.desc() if newest_first else t.audit_log.c.seq
        query = query.order_by(order).limit(limit)
        with self.engine.connect() as conn:
            return [audit.AuditEntry.from_row(row) for row in conn.execute(query)]

    def export_history(self, run_id: str | None = None) -> list[audit.AuditEntry]:
        """Export events (newest first), with format, level, file hash and user."""
        return self.audit_entries(action="exported", run_id=run_id, newest_first=True)

    def audit_head(self) -> tuple[int, str]:
        """(seq, entry_hash) of the newest audit entry (0 and 64 zeros when empty)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(t.settings.c.value)
                                 .where(t.settings.c.key == audit.HEAD_KEY)).scalar_one()
        seq, head = json.loads(value)
        return int(seq), str(head)

    def verify_audit(self) -> audit.VerifyResult:
        """Shortcut for :func:`strategy.audit.verify_chain`."""
        return audit.verify_chain(self)
