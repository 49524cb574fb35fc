"""The review store: users, strategy versions, persona mappings, overrides, settings, audit log.

``ReviewStore(url)`` opens (and creates) the database: a SQLite file by default, PostgreSQL by URL.
Every mutation takes the acting :class:`~strategy.auth.User`, checks its role, and writes the change
and its audit entry in one transaction; on SQLite writers take the lock up front
(``BEGIN IMMEDIATE``) so concurrent sessions queue instead of interleaving. The mapping workflow
(propose, edit, approve, reject, override) lives in :mod:`strategy.workflow`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.exc import ArgumentError, OperationalError

from core.errors import UserError
from core.workspace import database_url
from strategy import audit
from strategy import tables as t
from strategy.auth import (ROLES, User, hash_password, needs_rehash, password_matches, require)
from strategy.settings import StrategySettings
from strategy.queries import MappingQueries
from strategy.workflow import MappingWorkflow

KILL_SWITCH_KEY = "kill_switch"
_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,200}$")
_BOOTSTRAP = User("bootstrap", "admin")


def normalise_url(db: str | Path | None) -> str:
    """A SQLAlchemy URL from a URL, a file path, or ``None`` (the workspace default)."""
    if db is None or str(db) == "":
        return database_url()
    text = str(db)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


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


class ReviewStore(MappingWorkflow, MappingQueries):
    """Open the review database at ``url`` (file path or SQLAlchemy URL), creating tables.

    Parameters
    ----------
    url : str or Path, optional
        ``sqlite:///file.db``, ``postgresql+psycopg://...``, or a plain file path. Default:
        :func:`core.workspace.database_url`.
    settings : StrategySettings, optional
        Guardrail thresholds used when checking approvals.
    """

    def __init__(self, url: str | Path | None = None, *,
                 settings: StrategySettings | None = None) -> None:
        self.url = normalise_url(url)
        self.settings = settings or StrategySettings()
        try:
            self.engine = create_engine(self.url)
        except (ArgumentError, ModuleNotFoundError) as err:
            raise UserError(f"cannot open the review database {self.url!r}: {err}") from None
        if self.engine.dialect.name == "sqlite":
            _sqlite_setup(self.engine)
        try:
            t.metadata.create_all(self.engine)
        except OperationalError:  # another process created the tables at the same moment
            t.metadata.create_all(self.engine)
        with self._write() as conn:
            existing = set(conn.execute(select(t.settings.c.key)).scalars())
            now = audit.now_utc()
            for key, value in ((audit.HEAD_KEY, audit.initial_head()),
                               (KILL_SWITCH_KEY, json.dumps({"on": False, "reason": ""}))):
                if key not in existing:
                    conn.execute(insert(t.settings).values(key=key, value=value,
                                                           updated_by="system", updated_at=now))

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction holding the database write lock; rolled back on any error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            with conn.begin():
                yield conn

    transaction = _write  # public name for modules writing with the store's lock (export)

    # --- users --------------------------------------------------------------------------------
    def add_user(self, actor: User | None, username: str, role: str, password: str | None) -> User:
        """Create a local account (admin or CLI operator only; ``password`` None for OIDC users)."""
        require(actor, "manage_users")
        return self._insert_user(actor, username, role, password)

    def bootstrap_admin(self, username: str, password: str) -> User:
        """Create the first admin; refused once any user exists."""
        if self.count_users():
            raise UserError("the first admin exists already; ask an admin to add users")
        return self._insert_user(_BOOTSTRAP, username, "admin", password)

    def _insert_user(self, actor: User, username: str, role: str, password: str | None) -> User:
        username = (username or "").strip()
        if not _USERNAME.match(username):
            raise UserError(f"user name {username!r} may use letters, digits and . _ @ + - only")
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        password_hash = hash_password(password) if password is not None else None
        with self._write() as conn:
            if conn.execute(select(t.users.c.id).where(t.users.c.username == username)).first():
                raise UserError(f"user {username} exists already")
            conn.execute(insert(t.users).values(
                username=username, role=role, password_hash=password_hash, disabled=False,
                created_at=audit.now_utc(), created_by=actor.username))
            audit.append(conn, actor, "user_added", details={"username": username, "role": role})
        return User(username, role)

    def set_role(self, actor: User, username: str, role: str) -> None:
        """Change a user's role (admin)."""
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        self._change_user(actor, username, {"role": role})

    def set_disabled(self, actor: User, username: str, disabled: bool) -> None:
        """Disable or re-enable a user (admin); disabled users cannot sign in."""
        if actor and actor.username == username and disabled:
            raise UserError("you cannot disable your own account")
        self._change_user(actor, username, {"disabled": bool(disabled)})

    def set_password(self, actor: User, username: str, password: str) -> None:
        """Set a new password (admin, or the user for themself)."""
        if actor is None or actor.username != username:
            require(actor, "manage_users")
        with self._write() as conn:
            self._user_row(conn, username)
            conn.execute(update(t.users).where(t.users.c.username == username)
                         .values(password_hash=hash_password(password)))
            audit.append(conn, actor, "user_changed", details={"username": username,
                                                               "changed": ["password"]})

    def _change_user(self, actor: User, username: str, values: dict[str, Any]) -> None:
        require(actor, "manage_users")
        with self._write() as conn:
            before = self._user_row(conn, username)
            conn.execute(update(t.users).where(t.users.c.username == username).values(**values))
            audit.append(conn, actor, "user_changed", details={
                "username": username, "before": {k: before[k] for k in values}, "after": values})

    @staticmethod
    def _user_row(conn: Connection, username: str) -> dict[str, Any]:
        row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
        if row is None:
            raise UserError(f"there is no user {username!r}; add it with `personas users add`")
        return dict(row._mapping)

    def get_user(self, username: str) -> User | None:
        """The enabled user ``username``, or ``None``."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
        if row is None or row.disabled:
            return None
        return User(row.username, row.role)

    def list_users(self) -> list[dict[str, Any]]:
        """All users: username, role, disabled, created_at, created_by (never the hash)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.users).order_by(t.users.c.username)).all()
        return [{k: v for k, v in row._mapping.items() if k not in ("id", "password_hash")}
                for row in rows]

    def count_users(self) -> int:
        """Number of users (enabled or not)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.users)).scalar_one())

    def authenticate(self, username: str, password: str) -> User | None:
        """Check a password; records ``login`` or ``login_failed`` in the audit log."""
        with self._write() as conn:
            row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
            matches = password_matches(None if row is None else row.password_hash, password or "")
            ok = row is not None and not row.disabled and matches
            if not ok:
                audit.append(conn, User(str(username)[:200], "unknown"), "login_failed")
                return None
            if needs_rehash(row.password_hash):
                conn.execute(update(t.users).where(t.users.c.id == row.id)
                             .values(password_hash=hash_password(password)))
            user = User(row.username, row.role)
            audit.append(conn, user, "login")
        return user

    def record_login(self, user: User, source: str = "oidc") -> None:
        """Record a sign-in that was verified elsewhere (Streamlit ``st.login``)."""
        with self._write() as conn:
            audit.append(conn, user, "login", details={"source": source})

    def record_logout(self, user: User) -> None:
        """Record a sign-out."""
        with self._write() as conn:
            audit.append(conn, user, "logout")

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
