"""Users of the review store (mixed into :class:`strategy.store.ReviewStore`).

Only a signed-in administrator adds, changes, disables, enables, removes or resets users; the
operating-system operator (CLI, identified by uid) or a one-time setup token creates the *first*
administrator of an empty database, atomically, and nothing else. Every change is an audit entry
carrying the SHA-256 of the stored credential, so a password hash replaced in the database is found
by :mod:`strategy.reconcile`; every change that takes a right away ends the user's open sessions
in the same transaction. Each identity names the ``person`` behind it: two identities of one
person never complete four-eyes together, and conflicting review roles are flagged.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, update

from core.errors import UserError
from strategy import audit
from strategy import tables as t
from strategy.auth import OPERATOR_ROLE, ROLES, User, hash_password, require
from strategy.clock import iso, parse, utc_now

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from strategy.settings import SecuritySettings

USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,200}$")
REVIEW_ROLES = ("analyst", "manager", "compliance")
SETUP_ACTOR = User("setup-token", "system")


def credential_digest(password_hash: str | None) -> str | None:
    """SHA-256 of the stored password hash (``None`` for identities without a password)."""
    return None if password_hash is None else hashlib.sha256(password_hash.encode()).hexdigest()


def person_key(person: str | None, username: str) -> str:
    """The person an identity belongs to, compared case- and space-insensitively."""
    return " ".join(str(person or username).split()).lower()


class UserAdmin:
    """User methods of :class:`strategy.store.ReviewStore`."""

    engine: "Engine"
    security: "SecuritySettings"

    # --- the first administrator --------------------------------------------------------------
    def issue_setup_token(self, actor: User | None = None) -> str:
        """A one-time token that creates the first administrator (replaces any earlier one).

        Printed on the server console at first start, or by ``personas users setup-token``.
        Refused once any user exists.
        """
        token = secrets.token_urlsafe(24)
        now = utc_now()
        with self._write() as conn:
            audit.read_head(conn, lock=True)  # serialise with create_first_admin (PostgreSQL)
            if self._user_count(conn):
                raise UserError("the first administrator exists already; an administrator adds "
                                "users on the Users page or with `personas users add --admin`")
            conn.execute(delete(t.tickets).where(t.tickets.c.kind == "setup"))
            conn.execute(insert(t.tickets).values(
                ticket_sha256=_sha(token), kind="setup", created_at=iso(now),
                expires_at=iso(now + timedelta(hours=self.security.setup_token_hours))))
            audit.append(conn, actor or User("server", "system"), "setup_token_issued",
                         details={"valid_hours": self.security.setup_token_hours})
        return token

    def setup_token_outstanding(self) -> bool:
        """Whether an unused, unexpired setup token exists (so the server need not print another)."""
        with self.engine.connect() as conn:
            return conn.execute(select(t.tickets.c.ticket_sha256).where(
                t.tickets.c.kind == "setup", t.tickets.c.used_at.is_(None),
                t.tickets.c.expires_at > iso(utc_now()))).first() is not None

    def create_first_admin(self, username: str, password: str | None, *,
                           setup_token: str | None = None, operator: User | None = None,
                           person: str | None = None) -> User:
        """Create the first administrator of an empty database, in one transaction.

        Needs either the current one-time ``setup_token`` (the app's first start) or the
        ``operator`` (a CLI command run by the OS account that owns the database). When two
        attempts race, exactly one succeeds; the other is told that an administrator exists.
        """
        if setup_token is None and (operator is None or operator.role != OPERATOR_ROLE):
            raise UserError("creating the first administrator needs the setup token printed on "
                            "the server console (or `personas users setup-token`)")
        username = _checked_name(username)
        password_hash = hash_password(password, username) if password is not None else None
        now = utc_now()
        with self._write() as conn:
            audit.read_head(conn, lock=True)
            if self._user_count(conn):
                raise UserError("the first administrator exists already; sign in, or ask an "
                                "administrator to add you")
            actor = operator or SETUP_ACTOR
            if setup_token is not None:
                self._use_ticket(conn, "setup", setup_token, now)
            self._insert(conn, actor, username, "admin", password_hash, person,
                         extra={"first_admin": True,
                                "via": "setup token" if setup_token is not None else "operator"})
        return User(username, "admin")

    def bootstrap_admin(self, username: str, password: str, setup_token: str) -> User:
        """Shortcut for :meth:`create_first_admin` with a setup token (the first-start form)."""
        return self.create_first_admin(username, password, setup_token=setup_token)

    # --- changes by an administrator ----------------------------------------------------------
    def add_user(self, actor: User | None, username: str, role: str, password: str | None, *,
                 person: str | None = None) -> User:
        """Create an identity (administrator only; ``password`` None for single sign-on users).

        ``person`` names the human behind it (default: the user name); see :meth:`role_conflicts`.
        """
        require(actor, "manage_users")
        username = _checked_name(username)
        _checked_role(role)
        password_hash = hash_password(password, username) if password is not None else None
        with self._write() as conn:
            self._require_enabled_admin(conn, actor)
            if conn.execute(select(t.users.c.id).where(t.users.c.username == username)).first():
                raise UserError(f"user {username} exists already")
            self._insert(conn, actor, username, role, password_hash, person)
        return User(username, role)

    def set_role(self, actor: User, username: str, role: str) -> None:
        """Change a user's role (administrator); ends the user's open sessions."""
        _checked_role(role)
        if actor is not None and actor.username == username and role != "admin":
            raise UserError("you cannot take the administrator role from yourself; ask another "
                            "administrator")
        self._change_user(actor, username, {"role": role}, "role changed")

    def set_disabled(self, actor: User, username: str, disabled: bool) -> None:
        """Disable (ends open sessions) or re-enable a user (administrator)."""
        if actor and actor.username == username and disabled:
            raise UserError("you cannot disable your own account")
        self._change_user(actor, username, {"disabled": bool(disabled)},
                          "account disabled" if disabled else None)

    def remove_user(self, actor: User, username: str) -> None:
        """Remove a user (administrator); their past actions stay in the audit log by name."""
        require(actor, "manage_users")
        if actor.username == username:
            raise UserError("you cannot remove your own account")
        with self._write() as conn:
            self._require_enabled_admin(conn, actor)
            before = self._user_row(conn, username)
            self._keep_an_admin(conn, before, {"removed": True})
            conn.execute(delete(t.users).where(t.users.c.username == username))
            ended = self._end_sessions_of(conn, username, "account removed")
            audit.append(conn, actor, "user_removed", details={
                "username": username, "role": before["role"], "sessions_ended": ended})

    def set_password(self, actor: User, username: str, password: str) -> None:
        """Reset a user's password (administrator) or change one's own (the user themself)."""
        if actor is None or actor.username != username:
            require(actor, "manage_users")
        password_hash = hash_password(password, username)
        with self._write() as conn:
            if actor.username != username:
                self._require_enabled_admin(conn, actor)
            self._user_row(conn, username)
            conn.execute(update(t.users).where(t.users.c.username == username)
                         .values(password_hash=password_hash))
            ended = self._end_sessions_of(conn, username, "password reset by an administrator") \
                if actor.username != username else 0
            audit.append(conn, actor, "user_changed", details={
                "username": username, "changed": ["password"], "sessions_ended": ended,
                "credential": credential_digest(password_hash)})

    reset_password = set_password

    def change_own_password(self, user: User, current: str, new: str) -> None:
        """A signed-in user changes their password, proving the current one first."""
        from strategy.auth import password_matches

        with self.engine.connect() as conn:
            row = conn.execute(select(t.users.c.password_hash)
                               .where(t.users.c.username == user.username)).first()
        if row is None or not password_matches(row.password_hash, current or ""):
            raise UserError("the current password is not correct")
        if new == current:
            raise UserError("the new password must differ from the current one")
        self.set_password(user, user.username, new)

    # --- reading ------------------------------------------------------------------------------
    def get_user(self, username: str) -> User | None:
        """The enabled user ``username``, or ``None``."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
        if row is None or row.disabled:
            return None
        return User(row.username, row.role)

    def list_users(self) -> list[dict[str, Any]]:
        """All users: username, role, person, disabled, created_at, created_by (never the hash)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.users).order_by(t.users.c.username)).all()
        return [{k: v for k, v in row._mapping.items() if k not in ("id", "password_hash")}
                for row in rows]

    def count_users(self) -> int:
        """Number of users (enabled or not)."""
        with self.engine.connect() as conn:
            return self._user_count(conn)

    def role_conflicts(self) -> list[str]:
        """Identities of one person that hold more than one review role, one line per person.

        Whoever holds an analyst and a manager identity could propose and approve alone; the
        store refuses an approval by the proposer's person, and the Users page and
        ``personas users list`` show these lines so that an administrator removes one of them.
        """
        by_person: dict[str, list[dict[str, Any]]] = {}
        for row in self.list_users():
            if row["role"] in REVIEW_ROLES and not row["disabled"]:
                by_person.setdefault(person_key(row.get("person"), row["username"]), []).append(row)
        lines = []
        for person, rows in sorted(by_person.items()):
            roles = {r["role"] for r in rows}
            if len(rows) > 1 and len(roles) > 1:
                creators = sorted({r["created_by"] for r in rows})
                lines.append(f"person {person!r} holds {len(rows)} identities with the review roles "
                             f"{', '.join(sorted(roles))} ("
                             + ", ".join(f"{r['username']}: {r['role']}" for r in rows)
                             + f"); created by {', '.join(creators)}")
        return lines

    def same_person(self, first: str, second: str) -> bool:
        """Whether two user names belong to the same person (see :func:`person_key`)."""
        with self.engine.connect() as conn:
            return self._same_person(conn, first, second)

    # --- internals ----------------------------------------------------------------------------
    @staticmethod
    def _same_person(conn: Connection, first: str | None, second: str | None) -> bool:
        if not first or not second:
            return False
        if first == second:
            return True
        rows = {r.username: person_key(r.person, r.username) for r in conn.execute(
            select(t.users.c.username, t.users.c.person)
            .where(t.users.c.username.in_([first, second])))}
        return len(rows) == 2 and rows[first] == rows[second]

    @staticmethod
    def _user_count(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(t.users)).scalar_one())

    def _insert(self, conn: Connection, actor: User, username: str, role: str,
                password_hash: str | None, person: str | None,
                extra: dict[str, Any] | None = None) -> None:
        person = " ".join(str(person).split()) if person and str(person).strip() else None
        conn.execute(insert(t.users).values(
            username=username, role=role, password_hash=password_hash, disabled=False,
            created_at=audit.now_utc(), created_by=actor.username, person=person))
        audit.append(conn, actor, "user_added", details={
            "username": username, "role": role, "person": person,
            "credential": credential_digest(password_hash), **(extra or {})})

    def _change_user(self, actor: User, username: str, values: dict[str, Any],
                     ends_sessions: str | None) -> None:
        require(actor, "manage_users")
        with self._write() as conn:
            self._require_enabled_admin(conn, actor)
            before = self._user_row(conn, username)
            self._keep_an_admin(conn, before, values)
            conn.execute(update(t.users).where(t.users.c.username == username).values(**values))
            ended = self._end_sessions_of(conn, username, ends_sessions) if ends_sessions else 0
            audit.append(conn, actor, "user_changed", details={
                "username": username, "before": {k: before[k] for k in values}, "after": values,
                "sessions_ended": ended})

    @staticmethod
    def _keep_an_admin(conn: Connection, before: dict[str, Any], values: dict[str, Any]) -> None:
        if before["role"] != "admin" or before["disabled"]:
            return
        if values.get("role", "admin") == "admin" and not values.get("disabled") \
                and not values.get("removed"):
            return
        admins = conn.execute(select(func.count()).select_from(t.users).where(
            t.users.c.role == "admin", t.users.c.disabled.is_(False))).scalar_one()
        if admins <= 1:
            raise UserError(f"{before['username']} is the last enabled administrator; make "
                            "someone else administrator first")

    @staticmethod
    def _require_enabled_admin(conn: Connection, actor: User) -> None:
        """The acting administrator must exist, be enabled and still be an administrator."""
        row = conn.execute(select(t.users.c.role, t.users.c.disabled)
                           .where(t.users.c.username == actor.username)).first()
        if row is None or row.disabled or row.role != "admin":
            from strategy.auth import PermissionDenied

            raise PermissionDenied(f"{actor.username} is not an enabled administrator (any more)")

    @staticmethod
    def _user_row(conn: Connection, username: str) -> dict[str, Any]:
        row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
        if row is None:
            raise UserError(f"there is no user {username!r}")
        return dict(row._mapping)

    @staticmethod
    def _end_sessions_of(conn: Connection, username: str, why: str) -> int:
        result = conn.execute(update(t.sessions).where(
            t.sessions.c.username == username, t.sessions.c.ended_at.is_(None)).values(
            ended_at=audit.now_utc(), ended_why=why))
        return int(result.rowcount or 0)

    @staticmethod
    def _use_ticket(conn: Connection, kind: str, ticket: str, now,
                    binding: str | None = None) -> dict[str, Any]:
        row = conn.execute(select(t.tickets).where(t.tickets.c.ticket_sha256 == _sha(ticket),
                                                   t.tickets.c.kind == kind)
                           .with_for_update()).first()
        what = "setup token" if kind == "setup" else "sign-in ticket"
        if row is None or row.used_at is not None:
            raise UserError(f"the {what} is not valid (mistyped, or used already)")
        if parse(row.expires_at) < now:
            raise UserError(f"the {what} has expired; "
                            + ("run `personas users setup-token` for a new one" if kind == "setup"
                               else "sign in again"))
        if (row.binding_sha256 or None) != (_sha(binding) if binding else None):
            raise UserError(f"the {what} was issued to another browser; sign in again")
        conn.execute(update(t.tickets).where(t.tickets.c.ticket_sha256 == row.ticket_sha256)
                     .values(used_at=iso(now)))
        return dict(row._mapping)


def _sha(text: str) -> str:
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()


def _checked_name(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise UserError(f"user name {username!r} may use letters, digits and . _ @ + - only")
    return username


def _checked_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
