"""Local accounts with argon2 hashes, roles, and OIDC role mapping."""
from __future__ import annotations

import pytest

from tests.strategy.conftest import ADMIN, ANALYST
from core.errors import UserError
from strategy.auth import PermissionDenied, User, authenticate, operator_user, role_for_identity
from strategy.store import ReviewStore

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)


@pytest.fixture
def fresh(db_path):
    """An empty store with its first administrator ``root`` (created by the OS operator)."""
    store = ReviewStore(db_path)
    store.create_first_admin("root", None, operator=operator_user())
    return store


def test_a_local_account_signs_in_with_its_password_only(fresh):
    fresh.add_user(ADMIN, "mia", "manager", "correct horse")
    assert authenticate(fresh, "mia", "correct horse") == User("mia", "manager")
    assert authenticate(fresh, "mia", "wrong horse!") is None
    assert authenticate(fresh, "nobody", "correct horse") is None
    assert [e.action for e in fresh.audit_entries()][-3:] == ["login", "login_failed", "login_failed"]


def test_passwords_are_stored_as_argon2_hashes(fresh, db_path):
    import sqlite3
    fresh.add_user(ADMIN, "mia", "manager", "correct horse")
    stored = sqlite3.connect(db_path).execute(
        "SELECT password_hash FROM users WHERE username = 'mia'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


def test_a_disabled_user_cannot_sign_in(fresh):
    fresh.add_user(ADMIN, "mia", "manager", "correct horse")
    fresh.set_disabled(ADMIN, "mia", True)
    assert authenticate(fresh, "mia", "correct horse") is None


def test_only_admins_manage_users(store):
    with pytest.raises(PermissionDenied, match="admin"):
        store.add_user(ANALYST, "eve", "admin", None)
    with pytest.raises(PermissionDenied):
        store.add_user(None, "eve", "admin", None)
    store.add_user(ADMIN, "eve", "analyst", None)
    assert store.count_users() == 7


def test_the_operating_system_operator_may_not_add_users_once_an_admin_exists(store):
    with pytest.raises(PermissionDenied, match="admin"):
        store.add_user(operator_user(), "eve", "admin", None)


def test_unknown_roles_short_passwords_and_duplicates_are_refused(store):
    with pytest.raises(UserError, match="role"):
        store.add_user(ADMIN, "eve", "superuser", None)
    with pytest.raises(UserError, match="12 characters"):
        store.add_user(ADMIN, "eve", "analyst", "short")
    with pytest.raises(UserError, match="exists"):
        store.add_user(ADMIN, "alice", "analyst", None)


def test_the_first_admin_can_be_created_only_once(db_path):
    store = ReviewStore(db_path)
    assert store.create_first_admin("root", "long enough pw", operator=operator_user()) \
        == User("root", "admin")
    with pytest.raises(UserError, match="exists already"):
        store.create_first_admin("root2", "long enough pw", operator=operator_user())


def test_an_oidc_identity_gets_its_role_from_the_mapping():
    mapping = {"Boss@Bank.de": "manager", "@bank.de": "analyst"}
    assert role_for_identity("boss@bank.de", mapping) == User("boss@bank.de", "manager")
    assert role_for_identity("new@bank.de", mapping) == User("new@bank.de", "analyst")
    assert role_for_identity("x@other.org", mapping) is None
    assert role_for_identity(None, mapping) is None
    with pytest.raises(UserError, match="unknown role"):
        role_for_identity("a@b.de", {"a@b.de": "god"})


def test_sign_ins_verified_elsewhere_and_sign_outs_are_audited(store):
    store.add_user(ADMIN, "boss@bank.de", "manager", None)
    user = store.sign_in_sso("Boss@Bank.de")
    store.record_logout(user)
    entries = store.audit_entries(user="boss@bank.de")
    assert [(e.action, e.role) for e in entries] == [("login", "manager"), ("logout", "manager")]
    assert entries[0].details["source"] == "oidc"


def test_a_single_sign_on_identity_must_be_an_enabled_user_of_the_database(store):
    assert store.sign_in_sso("stranger@bank.de") is None
    store.add_user(ADMIN, "boss@bank.de", "manager", None)
    store.set_disabled(ADMIN, "boss@bank.de", True)
    assert store.sign_in_sso("boss@bank.de") is None
    store.set_disabled(ADMIN, "boss@bank.de", False)
    assert store.sign_in_sso("boss@bank.de") == User("boss@bank.de", "manager")
