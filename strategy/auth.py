"""Identities and roles: local accounts with argon2 password hashes, and OIDC role mapping.

Roles (:data:`ROLES`): ``analyst`` proposes and edits strategies; ``compliance`` signs off the
model and may veto (reject) a mapping; ``manager`` approves or rejects; ``admin`` manages users.
``operator`` is not a stored role: it is the operating-system account running a CLI command
without signing in, identified by its numeric user id (never by an environment variable). An
operator may create the *first* administrator of an empty database and export; every other user
change needs an administrator's sign-in.
"""
from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import UserError

if TYPE_CHECKING:
    from strategy.store import ReviewStore

ROLES = ("analyst", "compliance", "manager", "admin")
OPERATOR_ROLE = "operator"

# Which roles may do what; the store checks these on every mutation.
PERMISSIONS: dict[str, frozenset[str]] = {
    "register_run": frozenset({"analyst", "manager", "compliance", "admin", OPERATOR_ROLE}),
    "propose": frozenset({"analyst"}),
    "edit": frozenset({"analyst"}),
    "approve": frozenset({"manager"}),
    "reject": frozenset({"manager", "compliance"}),
    "sign_off_model": frozenset({"compliance"}),
    "override": frozenset({"manager", "compliance"}),
    "kill_switch": frozenset({"manager", "compliance", "admin"}),
    "export": frozenset({"analyst", "manager", "compliance", "admin", OPERATOR_ROLE}),
    "manage_users": frozenset({"admin"}),
}

_hasher = PasswordHasher()


class PermissionDenied(UserError):
    """The signed-in user's role does not allow the action."""


@dataclass(frozen=True)
class User:
    """A signed-in person: ``username`` and one of :data:`ROLES` (or ``operator``)."""

    username: str
    role: str


def operator_user() -> User:
    """The operating-system account running a CLI command without signing in.

    Named by its numeric user id as the kernel reports it (``os.getuid``), with the account name
    from the password database; ``$LOGNAME``/``$USER`` are ignored because anyone can set them.
    """
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        name = "?"
    return User(username=f"operator:uid={uid}({name})", role=OPERATOR_ROLE)


def require(user: User | None, action: str) -> User:
    """Return ``user`` if it may do ``action``; raise :class:`PermissionDenied` otherwise."""
    if user is None:
        raise PermissionDenied(f"{action.replace('_', ' ')} needs a signed-in user")
    allowed = PERMISSIONS[action]
    if user.role not in allowed:
        raise PermissionDenied(
            f"{user.username} ({user.role}) may not {action.replace('_', ' ')}; "
            f"this needs the role {' or '.join(sorted(allowed))}")
    return user


def hash_password(password: str, username: str | None = None) -> str:
    """argon2id hash of ``password`` (argon2-cffi defaults) once the password policy accepts it
    (:func:`strategy.passwords.check_password`)."""
    from strategy.passwords import check_password

    return _hasher.hash(check_password(password, username))


def rehash_password(password: str) -> str:
    """argon2id hash of a password that already passed the policy (re-hashing at sign-in)."""
    return _hasher.hash(password)


def name_key(typed_name: str) -> str:
    """Keyed hash (HMAC-SHA256 with the app's key, 32 hex digits) of a name typed at sign-in.

    Failed sign-ins are logged and counted by this key, never by the text: a password typed into
    the user-name field must not end up readable in the audit log. Whoever runs the app can compute
    the key of a known name to look its failures up (:func:`strategy.signin.failures_for`).
    """
    from runs.signing import sign

    return sign(b"sign-in-name\0" + str(typed_name or "").strip().encode("utf-8"))[:32]


_dummy_hash: tuple[PasswordHasher, str] | None = None


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored argon2 hash (False for no hash or a bad hash).

    Without a hash (unknown user, OIDC-only user) a dummy hash is still verified, so the time
    taken does not tell whether a user name exists.
    """
    global _dummy_hash
    if not password_hash:
        if _dummy_hash is None or _dummy_hash[0] is not _hasher:  # same cost as a real check
            _dummy_hash = (_hasher, _hasher.hash("not a real password"))
        _safe_verify(_dummy_hash[1], password)
        return False
    return _safe_verify(password_hash, password)


def _safe_verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current defaults."""
    return _hasher.check_needs_rehash(password_hash)


def authenticate(store: "ReviewStore", username: str, password: str) -> User | None:
    """Check a local account's password; ``None`` for an unknown, disabled or wrong login.

    A successful sign-in is recorded in the audit log (``login``), a failed one as ``login_failed``.
    """
    return store.authenticate(username, password)


def role_for_identity(email: str | None, mapping: dict[str, str],
                      default_role: str | None = None) -> User | None:
    """Map an OIDC identity (``st.user.email``) to a :class:`User` using a configured mapping.

    Parameters
    ----------
    email : str or None
        E-mail address from the identity provider; ``None`` means not signed in.
    mapping : dict
        ``{"alice@bank.de": "manager", "@bank.de": "analyst"}``: exact addresses first, then
        ``@domain`` entries. Values must be in :data:`ROLES`.
    default_role : str, optional
        Role for identities not in the mapping; ``None`` refuses them (returns ``None``).
    """
    if not email:
        return None
    address = email.strip().lower()
    lowered = {key.strip().lower(): role for key, role in mapping.items()}
    role = lowered.get(address)
    if role is None and "@" in address:
        role = lowered.get("@" + address.rsplit("@", 1)[1])
    if role is None:
        role = default_role
    if role is None:
        return None
    if role not in ROLES:
        raise UserError(f"the role mapping gives {address} the unknown role {role!r}; "
                        f"use one of {', '.join(ROLES)}")
    return User(username=address, role=role)
