"""Local accounts with argon2 hashes, roles, and OIDC role mapping."""
from __future__ import annotations

import pytest

from conftest import ADMIN, ANALYST
from core.errors import UserError
from strategy.auth import PermissionDenied, User, authenticate, operator_user, role_for_identity
from strategy.store import ReviewStore


def test_a_local_account_signs_in_with_its_password_only(db_path):
    store = ReviewStore(db_path)
    store.add_user(operator_user(), "mia", "manager", "correct horse")
    assert authenticate(store, "mia", "correct horse") == User("mia", "manager")
    assert authenticate(store, "mia", "wrong horse!") is None
    assert authenticate(store, "nobody", "correct horse") is None
    assert [e.action for e in store.audit_entries()][-3:] == ["login", "login_failed", "login_failed"]


def test_passwords_are_stored_as_argon2_hashes(db_path):
    import sqlite3
    store = ReviewStore(db_path)
    store.add_user(operator_user(), "mia", "manager", "correct horse")
    stored = sqlite3.connect(db_path).execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


def test_a_disabled_user_cannot_sign_in(db_path):
    store = ReviewStore(db_path)
    store.add_user(operator_user(), "mia", "manager", "correct horse")
    store.add_user(operator_user(), "root", "admin", None)
    store.set_disabled(ADMIN, "mia", True)
    assert authenticate(store, "mia", "correct horse") is None


def test_only_admins_and_operators_manage_users(store):
    with pytest.raises(PermissionDenied, match="admin"):
        store.add_user(ANALYST, "eve", "admin", None)
    with pytest.raises(PermissionDenied):
        store.add_user(None, "eve", "admin", None)
    store.add_user(ADMIN, "eve", "analyst", None)
    assert store.count_users() == 7


def test_unknown_roles_short_passwords_and_duplicates_are_refused(store):
    with pytest.raises(UserError, match="role"):
        store.add_user(ADMIN, "eve", "superuser", None)
    with pytest.raises(UserError, match="8 characters"):
        store.add_user(ADMIN, "eve", "analyst", "short")
    with pytest.raises(UserError, match="exists"):
        store.add_user(ADMIN, "alice", "analyst", None)


def test_the_first_admin_can_be_bootstrapped_only_once(db_path):
    store = ReviewStore(db_path)
    assert store.bootstrap_admin("root", "long enough pw") == User("root", "admin")
    with pytest.raises(UserError, match="exists already"):
        store.bootstrap_admin("root2", "long enough pw")


def test_an_oidc_identity_gets_its_role_from_the_mapping():
    mapping = {"Boss@Bank.de": "manager", "@bank.de": "analyst"}
    assert role_for_identity("boss@bank.de", mapping) == User("boss@bank.de", "manager")
    assert role_for_identity("new@bank.de", mapping) == User("new@bank.de", "analyst")
    assert role_for_identity("x@other.org", mapping) is None
    assert role_for_identity(None, mapping) is None
    with pytest.raises(UserError, match="unknown role"):
        role_for_identity("a@b.de", {"a@b.de": "god"})


def test_sign_ins_verified_elsewhere_and_sign_outs_are_audited(store):
    user = role_for_identity("boss@bank.de", {"boss@bank.de": "manager"})
    store.record_login(user, source="oidc")
    store.record_logout(user)
    entries = store.audit_entries(user="boss@bank.de")
    assert [(e.action, e.role) for e in entries] == [("login", "manager"), ("logout", "manager")]
    assert entries[0].details == {"source": "oidc"}
