"""Sign-in, lockout and server-side sessions (mixed into :class:`strategy.store.ReviewStore`).

* **Password check outside the write lock.** The argon2 check (deliberately slow) runs on a plain
  read; only the audit entry and the failure count are written, in one short transaction, so a
  burst of failed sign-ins never starves legitimate writes.
* **Lockout.** After ``lockout_failures`` failed attempts for one typed name (or
  ``address_lockout_failures`` from one address) within ``lockout_window_minutes``, every further
  attempt is refused, the right password included, until the window has passed. Failures are
  counted and logged by :func:`strategy.auth.name_key` of the typed name, never by its text.
* **Sessions.** A verified sign-in becomes a one-time *hand-over ticket* (``handoff_seconds``,
  bound to the browser that asked), which the server's cookie route (``application/web.py``)
  redeems for a session token in an HttpOnly cookie. The database keeps only SHA-256 of tokens.
  :meth:`SignIn.session_user` re-reads the user on every call: a removed, disabled or re-roled
  user, an idle or too old session all end it at once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, insert, select, update

from core.errors import UserError
from strategy import audit
from strategy import tables as t
from strategy.auth import User, name_key, needs_rehash, password_matches, rehash_password
from strategy.clock import iso, parse, utc_now
from strategy.users import credential_digest

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from strategy.settings import SecuritySettings

FAILED_USER = "(failed sign-in)"


class SignInRefused(UserError):
    """Sign-in refused for a reason the person may be told (locked out for a while)."""


def _sha(text: str) -> str:
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()


class SignIn:
    """Sign-in and session methods of :class:`strategy.store.ReviewStore`."""

    engine: "Engine"
    security: "SecuritySettings"

    # --- password sign-in ---------------------------------------------------------------------
    def sign_in(self, typed_name: str, password: str, *, address: str | None = None,
                now: datetime | None = None) -> User | None:
        """Check a local account's password; ``None`` for an unknown, disabled or wrong login.

        Raises
        ------
        SignInRefused
            While the name or the address is locked out (also for the right password).
        """
        now = now or utc_now()
        name = str(typed_name or "").strip()[:200]
        key = name_key(name)
        address = (str(address)[:100] or None) if address else None
        with self.engine.connect() as conn:  # reads only: no lock while argon2 works
            locked = self._locked(conn, key, address, now)
            row = None if locked else conn.execute(
                select(t.users).where(t.users.c.username == name)).first()
        if locked:
            self._record_failure(key, address, now, "login_refused", locked)
            raise SignInRefused(f"too many failed sign-ins ({locked}); try again in "
                                f"{self.security.lockout_window_minutes:g} minutes or ask an "
                                "administrator")
        matches = password_matches(None if row is None else row.password_hash, password or "")
        if row is None or row.disabled or not matches:
            self._record_failure(key, address, now, "login_failed", None)
            return None
        return self._record_login(row, password, key, address)

    def authenticate(self, username: str, password: str, *, address: str | None = None) -> User | None:
        """:meth:`sign_in` without the lockout exception (locked out counts as a failure)."""
        try:
            return self.sign_in(username, password, address=address)
        except SignInRefused:
            return None

    def _locked(self, conn: Connection, key: str, address: str | None, now: datetime) -> str | None:
        since = iso(now - timedelta(minutes=self.security.lockout_window_minutes))
        recent = select(func.count()).select_from(t.sign_in_failures).where(
            t.sign_in_failures.c.time >= since)
        if conn.execute(recent.where(t.sign_in_failures.c.name_key == key)).scalar_one() \
                >= self.security.lockout_failures:
            return "for this user name"
        if address and conn.execute(recent.where(t.sign_in_failures.c.address == address)
                                    ).scalar_one() >= self.security.address_lockout_failures:
            return "from this address"
        return None

    def _record_failure(self, key: str, address: str | None, now: datetime, action: str,
                        locked: str | None) -> None:
        with self._write() as conn:
            conn.execute(insert(t.sign_in_failures).values(name_key=key, address=address,
                                                           time=iso(now)))
            details = {"name_key": key, "address": address}
            if locked:
                details["locked"] = locked
            audit.append(conn, User(FAILED_USER, "unknown"), action, details=details)

    def _record_login(self, row, password: str, key: str, address: str | None) -> User:
        with self._write() as conn:
            # Re-read inside the transaction: the account may have changed during the check.
            current = conn.execute(select(t.users).where(t.users.c.id == row.id)).first()
            if current is None or current.disabled or current.password_hash != row.password_hash:
                audit.append(conn, User(FAILED_USER, "unknown"), "login_failed",
                             details={"name_key": key, "address": address,
                                      "why": "account changed during sign-in"})
                return None
            user = User(current.username, current.role)
            conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.name_key == key))
            if needs_rehash(current.password_hash):
                fresh = rehash_password(password)
                conn.execute(update(t.users).where(t.users.c.id == current.id)
                             .values(password_hash=fresh))
                audit.append(conn, user, "user_changed", details={
                    "username": user.username, "changed": ["password hash parameters"],
                    "credential": credential_digest(fresh)})
            audit.append(conn, user, "login", details={"source": "password", "address": address})
        return user

    def sign_in_sso(self, email: str | None, *, address: str | None = None) -> User | None:
        """A single sign-on identity verified by the identity provider (``st.user``).

        It must be a user of this database, enabled; its role comes from the database, never
        from the identity provider. ``None`` (and a ``login_failed`` entry) otherwise.
        """
        name = str(email or "").strip().lower()
        with self.engine.connect() as conn:
            row = conn.execute(select(t.users).where(
                func.lower(t.users.c.username) == name)).first() if name else None
        if row is None or row.disabled:
            self._record_failure(name_key(name), address, utc_now(), "login_failed", None)
            return None
        user = User(row.username, row.role)
        with self._write() as conn:
            audit.append(conn, user, "login", details={"source": "oidc", "address": address})
        return user

    def record_login(self, user: User, source: str = "oidc") -> None:
        """Record a sign-in that was verified elsewhere."""
        with self._write() as conn:
            audit.append(conn, user, "login", details={"source": source})

    def record_logout(self, user: User) -> None:
        """Record a sign-out."""
        with self._write() as conn:
            audit.append(conn, user, "logout")

    def failures_for(self, typed_name: str, *, now: datetime | None = None) -> int:
        """Failed sign-ins for ``typed_name`` within the lockout window (for administrators)."""
        since = iso((now or utc_now()) - timedelta(minutes=self.security.lockout_window_minutes))
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.sign_in_failures).where(
                t.sign_in_failures.c.name_key == name_key(typed_name),
                t.sign_in_failures.c.time >= since)).scalar_one())

    def unlock(self, actor: User, typed_name: str) -> None:
        """Clear the failed sign-ins of a name (administrator)."""
        from strategy.auth import require

        require(actor, "manage_users")
        key = name_key(typed_name)
        with self._write() as conn:
            self._require_enabled_admin(conn, actor)
            conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.name_key == key))
            audit.append(conn, actor, "user_changed", details={"username": typed_name.strip(),
                                                               "changed": ["unlocked"]})

    # --- hand-over ticket and sessions --------------------------------------------------------
    def issue_handoff(self, user: User, *, source: str = "password",
                      binding: str | None = None) -> str:
        """A one-time ticket the cookie route exchanges for a session (``handoff_seconds``).

        ``binding`` is a value only the browser that signed in holds (its XSRF cookie); the route
        redeems the ticket only for a request that carries the same value.
        """
        ticket = secrets.token_urlsafe(32)
        now = utc_now()
        with self._write() as conn:
            conn.execute(delete(t.tickets).where(t.tickets.c.kind == "handoff",
                                                 t.tickets.c.expires_at < iso(now)))
            conn.execute(insert(t.tickets).values(
                ticket_sha256=_sha(ticket), kind="handoff", username=user.username, role=user.role,
                source=source, binding_sha256=_sha(binding) if binding else None,
                created_at=iso(now),
                expires_at=iso(now + timedelta(seconds=self.security.handoff_seconds))))
        return ticket

    def redeem_handoff(self, ticket: str, *, binding: str | None = None) -> str:
        """Exchange a hand-over ticket for a new session token (once). :class:`UserError` if the
        ticket is unknown, used, expired, issued to another browser, or the user changed since."""
        now = utc_now()
        with self._write() as conn:
            row = self._use_ticket(conn, "handoff", ticket, now, binding)
            current = conn.execute(select(t.users.c.role, t.users.c.disabled)
                                   .where(t.users.c.username == row["username"])).first()
            if current is None or current.disabled or current.role != row["role"]:
                raise UserError("your account changed while you signed in; sign in again")
            return self._open_session(conn, User(row["username"], row["role"]), row["source"], now)

    def open_session(self, user: User, *, source: str = "password") -> str:
        """A session token for ``user`` (tests and the cookie route; not for unverified users)."""
        with self._write() as conn:
            return self._open_session(conn, user, source, utc_now())

    @staticmethod
    def _open_session(conn: Connection, user: User, source: str, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        conn.execute(insert(t.sessions).values(
            token_sha256=_sha(token), username=user.username, role=user.role, source=source,
            created_at=iso(now), last_seen_at=iso(now)))
        return token

    def session_user(self, token: str | None, *, now: datetime | None = None) -> User | None:
        """The user of a live session, re-read from the users table; ``None`` when there is none.

        A session ends when it was signed out, is idle longer than ``idle_timeout_minutes``, older
        than ``absolute_timeout_hours``, or its user was removed, disabled or given another role.
        """
        return self.check_session(token, now=now)[0]

    def check_session(self, token: str | None, *,
                      now: datetime | None = None) -> tuple[User | None, str | None]:
        """``(user, None)`` for a live session, ``(None, why it ended)`` otherwise (``why`` is
        ``None`` for an unknown token)."""
        if not token:
            return None, None
        now = now or utc_now()
        key = _sha(token)
        with self.engine.connect() as conn:
            session = conn.execute(select(t.sessions).where(t.sessions.c.token_sha256 == key)).first()
            if session is None:
                return None, None
            if session.ended_at is not None:
                return None, session.ended_why
            user = conn.execute(select(t.users.c.role, t.users.c.disabled)
                                .where(t.users.c.username == session.username)).first()
        why = self._ending(session, user, now)
        if why:
            self.end_session(token, why, now=now)
            return None, why
        if (now - parse(session.last_seen_at)).total_seconds() >= self.security.touch_every_seconds:
            with self._write() as conn:
                conn.execute(update(t.sessions).where(t.sessions.c.token_sha256 == key)
                             .values(last_seen_at=iso(now)))
        return User(session.username, session.role), None

    def _ending(self, session, user, now: datetime) -> str | None:
        if user is None:
            return "account removed"
        if user.disabled:
            return "account disabled"
        if user.role != session.role:
            return f"role changed from {session.role} to {user.role}"
        if now - parse(session.last_seen_at) > timedelta(minutes=self.security.idle_timeout_minutes):
            return "idle timeout"
        if now - parse(session.created_at) > timedelta(hours=self.security.absolute_timeout_hours):
            return "absolute timeout"
        return None

    def end_session(self, token: str | None, why: str = "signed out", *,
                    now: datetime | None = None) -> None:
        """End a session (sign-out, timeout, account change); recorded in the audit log once."""
        if not token:
            return
        with self._write() as conn:
            session = conn.execute(select(t.sessions).where(
                t.sessions.c.token_sha256 == _sha(token))).first()
            if session is None or session.ended_at is not None:
                return
            conn.execute(update(t.sessions).where(t.sessions.c.token_sha256 == _sha(token))
                         .values(ended_at=iso(now or utc_now()), ended_why=why))
            actor = User(session.username, session.role)
            if why == "signed out":
                audit.append(conn, actor, "logout")
            else:
                audit.append(conn, actor, "session_ended", details={"why": why})

    def live_sessions(self, username: str | None = None) -> int:
        """Number of sessions not ended (of one user, or all)."""
        query = select(func.count()).select_from(t.sessions).where(t.sessions.c.ended_at.is_(None))
        if username is not None:
            query = query.where(t.sessions.c.username == username)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
