"""Users for tests, created the way the app requires: the first administrator by the operating-system
operator (only while the database is empty), everyone else by that administrator."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from strategy.auth import User, operator_user


def add_users(store, users: Iterable[User], passwords: Mapping[str, str] | None = None) -> None:
    """Create ``users`` in ``store`` (an administrator among them first when the store is empty).

    ``passwords`` maps user names to passwords; users without one are single-sign-on identities
    (no argon2 work, for tests that sign in through the session state).
    """
    users = list(users)
    passwords = dict(passwords or {})
    admins = [u for u in users if u.role == "admin"]
    if store.count_users() == 0:
        if not admins:
            raise ValueError("an empty database needs an administrator among the users")
        first = admins[0]
        store.create_first_admin(first.username, passwords.get(first.username),
                                 operator=operator_user())
        users.remove(first)
        actor = User(first.username, "admin")
    else:
        existing = [u for u in store.list_users() if u["role"] == "admin" and not u["disabled"]]
        actor = User(existing[0]["username"], "admin")
    for user in users:
        store.add_user(actor, user.username, user.role, passwords.get(user.username))
