"""Signing in holds against guessing, hogging the database and careless typing; the first
administrator cannot be claimed by whoever arrives first; users and administrators manage
passwords and accounts from the app and the CLI.
"""
from __future__ import annotations

import os
import sqlite3
import stat
import threading
from datetime import timedelta

import pytest

from tests.security.conftest import ADMIN, MANAGER
from core.errors import UserError
from strategy.auth import User, name_key, operator_user
from strategy.clock import utc_now
from strategy.passwords import PasswordPolicyError, check_password
from strategy.signin import SignInRefused

PASSWORD = "mia-has-a-long-one"


@pytest.fixture
def mia(review):
    store, _run, _ = review
    store.set_password(ADMIN, "mia", PASSWORD)
    return store


# ---------------------------------------------------------------- lockout
def test_the_eleventh_failed_sign_in_within_the_window_is_refused_even_with_the_right_password(mia):
    for _ in range(mia.security.lockout_failures):
        assert mia.sign_in("mia", "wrong guess!") is None
    with pytest.raises(SignInRefused, match="too many failed sign-ins"):
        mia.sign_in("mia", PASSWORD)
    assert mia.audit_entries(action="login_refused")


def test_the_lockout_ends_when_the_window_has_passed(mia):
    for _ in range(mia.security.lockout_failures):
        mia.sign_in("mia", "wrong guess!")
    later = utc_now() + timedelta(minutes=mia.security.lockout_window_minutes + 1)
    assert mia.sign_in("mia", PASSWORD, now=later) == MANAGER


def test_fewer_failures_than_the_limit_do_not_lock_and_a_success_clears_them(mia):
    for _ in range(mia.security.lockout_failures - 1):
        mia.sign_in("mia", "wrong guess!")
    assert mia.sign_in("mia", PASSWORD) == MANAGER
    assert mia.failures_for("mia") == 0


def test_one_address_trying_many_names_is_locked_out(mia):
    for i in range(mia.security.address_lockout_failures):
        mia.sign_in(f"guess{i}", "wrong guess!", address="203.0.113.9")
    with pytest.raises(SignInRefused, match="from this address"):
        mia.sign_in("mia", PASSWORD, address="203.0.113.9")
    assert mia.sign_in("mia", PASSWORD, address="198.51.100.1") == MANAGER


def test_an_administrator_can_clear_a_lockout(mia):
    for _ in range(mia.security.lockout_failures):
        mia.sign_in("mia", "wrong guess!")
    mia.unlock(ADMIN, "mia")
    assert mia.sign_in("mia", PASSWORD) == MANAGER


# ---------------------------------------------------------------- no lock held while hashing
def test_the_password_is_checked_while_nobody_holds_the_write_lock(mia, monkeypatch):
    """During the (slow) argon2 check another connection must be able to write at once."""
    import strategy.signin as signin

    db = mia.engine.url.database
    wrote = []
    real = signin.password_matches

    def checking(password_hash, password):
        with sqlite3.connect(db, timeout=0) as other:  # no waiting: fails if the lock is held
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        wrote.append(True)
        return real(password_hash, password)

    monkeypatch.setattr(signin, "password_matches", checking)
    assert mia.sign_in("mia", "wrong guess!") is None
    assert mia.sign_in("mia", PASSWORD) == MANAGER
    assert wrote == [True, True]


def test_legitimate_writes_succeed_during_a_burst_of_a_hundred_failed_sign_ins(review):
    store, _run, _ = review
    failures, writes, errors = [], [], []

    def attacker(i):
        try:
            failures.append(store.sign_in(f"nobody{i % 7}", "wrong guess!", address=f"10.0.0.{i}"))
        except SignInRefused:
            failures.append(None)
        except Exception as err:  # noqa: BLE001 - recorded and asserted below
            errors.append(err)

    def manager():
        for i in range(10):
            try:
                store.set_kill_switch(MANAGER, i % 2 == 0, "drill")
                writes.append(i)
            except Exception as err:  # noqa: BLE001
                errors.append(err)

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(100)]
    threads.append(threading.Thread(target=manager))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert writes == list(range(10))
    assert len(failures) == 100 and set(failures) == {None}


# ---------------------------------------------------------------- what a failed sign-in leaves
def test_a_failed_sign_in_logs_a_keyed_hash_of_the_typed_name_never_the_text(mia):
    typed = "mia-has-a-long-one"  # the password, typed into the user-name field
    assert mia.sign_in(typed, "anything") is None
    entry = mia.audit_entries(action="login_failed")[-1]
    assert entry.user == "(failed sign-in)"
    assert entry.details["name_key"] == name_key(typed)
    dump = "\n".join(sqlite3.connect(mia.engine.url.database).iterdump())
    assert typed not in dump.replace(f"'{PASSWORD}'", "")  # only the argon2 hash holds it
    assert "mia-has-a-long-one" not in str([e.details for e in mia.audit_entries()])


# ---------------------------------------------------------------- one password policy
@pytest.mark.parametrize("password", ["", "            ", "aaaaaaaaaaaa", "short", "password1234",
                                      "123456789012", "Qwertyuiop12", "abcdefghijkl"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(PasswordPolicyError):
        check_password(password)


def test_a_long_unusual_password_is_accepted():
    assert check_password("horse battery staple correct") == "horse battery staple correct"


def test_the_common_password_list_ships_with_the_package():
    from importlib.resources import files

    from strategy.passwords import common_passwords

    assert files("strategy").joinpath("data/common_passwords.txt").is_file()
    assert len(common_passwords()) > 1000


@pytest.mark.parametrize("password", ["aaaaaaaa", "        ", "correct horse"[:11]])
def test_the_cli_refuses_weak_passwords_like_the_app(tmp_path, monkeypatch, capsys, password):
    from application.cli import main

    monkeypatch.setenv("PERSONAS_PASSWORD", password)
    assert main(["users", "add", "root", "--role", "admin", "--db", str(tmp_path / "x.db")]) == 1
    assert "password" in capsys.readouterr().err


# ---------------------------------------------------------------- own password, admin actions
def test_a_user_changes_their_own_password_after_proving_the_current_one(mia):
    with pytest.raises(UserError, match="current password is not correct"):
        mia.change_own_password(MANAGER, "not it at all", "a fresh long secret")
    mia.change_own_password(MANAGER, PASSWORD, "a fresh long secret")
    assert mia.sign_in("mia", "a fresh long secret") == MANAGER
    assert mia.sign_in("mia", PASSWORD) is None


def test_an_administrator_cannot_disable_demote_or_remove_themself(review):
    store, _run, _ = review
    for change in (lambda: store.set_disabled(ADMIN, "root", True),
                   lambda: store.set_role(ADMIN, "root", "analyst"),
                   lambda: store.remove_user(ADMIN, "root")):
        with pytest.raises(UserError, match="cannot"):
            change()
    assert store.get_user("root") == ADMIN


def test_a_disabled_administrator_cannot_change_users(review):
    from strategy.auth import PermissionDenied

    store, _run, _ = review
    store.add_user(ADMIN, "root2", "admin", None)
    store.set_disabled(ADMIN, "root2", True)
    with pytest.raises(PermissionDenied):
        store.add_user(User("root2", "admin"), "eve", "analyst", None)


def test_admins_disable_enable_remove_and_reset_from_the_cli(review, monkeypatch, capsys):
    from application.cli import main

    store, _run, _ = review
    store.set_password(ADMIN, "root", "root-long-secret")
    db = ["--db", store.engine.url.database]
    monkeypatch.setenv("PERSONAS_ADMIN_PASSWORD", "root-long-secret")
    assert main(["users", "disable", "mia", "--admin", "root", *db]) == 0
    assert store.get_user("mia") is None
    assert main(["users", "enable", "mia", "--admin", "root", *db]) == 0
    monkeypatch.setenv("PERSONAS_PASSWORD", "reset-by-root-1")
    assert main(["users", "reset-password", "mia", "--admin", "root", *db]) == 0
    assert store.sign_in("mia", "reset-by-root-1") == MANAGER
    assert main(["users", "set-role", "mia", "--role", "compliance", "--admin", "root", *db]) == 0
    assert main(["users", "remove", "mia", "--admin", "root", *db]) == 0
    assert store.get_user("mia") is None
    assert main(["users", "disable", "ana", *db]) == 2  # no administrator named
    assert "--admin" in capsys.readouterr().err


def test_users_change_their_own_password_from_the_cli(mia, monkeypatch):
    from application.cli import main

    monkeypatch.setenv("PERSONAS_PASSWORD", PASSWORD)
    monkeypatch.setenv("PERSONAS_NEW_PASSWORD", "a fresh long secret")
    assert main(["users", "passwd", "mia", "--db", mia.engine.url.database]) == 0
    assert mia.sign_in("mia", "a fresh long secret") == MANAGER


def test_creating_users_from_the_cli_needs_an_administrators_sign_in(review, monkeypatch, capsys):
    from application.cli import main

    store, _run, _ = review
    store.set_password(ADMIN, "root", "root-long-secret")
    monkeypatch.setenv("PERSONAS_PASSWORD", "new-user-secret")
    db = ["--db", store.engine.url.database]
    assert main(["users", "add", "eve", "--role", "admin", *db]) == 2
    monkeypatch.setenv("PERSONAS_ADMIN_PASSWORD", "not the password")
    assert main(["users", "add", "eve", "--role", "admin", "--admin", "root", *db]) == 1
    monkeypatch.setenv("PERSONAS_ADMIN_PASSWORD", "root-long-secret")
    assert main(["users", "add", "eve", "--role", "analyst", "--admin", "mia", *db]) == 1
    assert store.get_user("eve") is None
    assert main(["users", "add", "eve", "--role", "analyst", "--admin", "root", *db]) == 0
    assert store.audit_entries(action="user_added")[-1].user == "root"


def test_the_cli_operator_is_named_by_the_operating_system_not_by_logname(tmp_path, monkeypatch):
    import pwd

    from application.cli import main
    from strategy.store import ReviewStore

    monkeypatch.setenv("LOGNAME", "ceo")
    monkeypatch.setenv("USER", "ceo")
    monkeypatch.setenv("PERSONAS_PASSWORD", "first-admin-secret")
    assert main(["users", "add", "root", "--role", "admin", "--db", str(tmp_path / "x.db")]) == 0
    entry = ReviewStore(tmp_path / "x.db").audit_entries(action="user_added")[0]
    expected = f"operator:uid={os.getuid()}({pwd.getpwuid(os.getuid()).pw_name})"
    assert entry.user == expected == operator_user().username
    assert "ceo" not in entry.user


# ---------------------------------------------------------------- the first administrator
def test_the_first_administrator_needs_the_setup_token_and_it_works_once(tmp_path):
    from strategy.store import ReviewStore

    store = ReviewStore(tmp_path / "x.db")
    token = store.issue_setup_token()
    with pytest.raises(UserError, match="not valid"):
        store.bootstrap_admin("root", "first-admin-secret", "wrong-token")
    assert store.bootstrap_admin("root", "first-admin-secret", token) == User("root", "admin")
    with pytest.raises(UserError, match="exists already"):
        store.bootstrap_admin("root2", "first-admin-secret", token)
    with pytest.raises(UserError, match="exists already"):
        store.issue_setup_token()


def test_a_second_concurrent_first_admin_attempt_fails(tmp_path):
    from strategy.store import ReviewStore

    store = ReviewStore(tmp_path / "x.db")
    token = store.issue_setup_token()
    results, barrier = [], threading.Barrier(3)

    def attempt(name):
        other = ReviewStore(tmp_path / "x.db")
        barrier.wait()
        try:
            results.append(other.bootstrap_admin(name, "first-admin-secret", token))
        except UserError as err:
            results.append(str(err))

    threads = [threading.Thread(target=attempt, args=(f"admin{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [r for r in results if isinstance(r, User)]
    assert len(created) == 1 and len(results) == 3
    assert [u["username"] for u in store.list_users()] == [created[0].username]


def test_the_cli_prints_a_setup_token_only_while_no_user_exists(tmp_path, capsys):
    from application.cli import main

    db = ["--db", str(tmp_path / "x.db")]
    assert main(["users", "setup-token", *db]) == 0
    assert "setup token" in capsys.readouterr().out
    os.environ["PERSONAS_PASSWORD"] = "first-admin-secret"
    try:
        assert main(["users", "add", "root", "--role", "admin", *db]) == 0
    finally:
        del os.environ["PERSONAS_PASSWORD"]
    assert main(["users", "setup-token", *db]) == 1


# ---------------------------------------------------------------- the database file
def test_the_database_file_is_created_readable_by_its_owner_only(tmp_path):
    from strategy.store import ReviewStore

    old = os.umask(0o022)
    try:
        store = ReviewStore(tmp_path / "fresh.db")
        store.issue_setup_token()  # a write: the WAL and shared-memory files exist too
    finally:
        os.umask(old)
    for path in tmp_path.glob("fresh.db*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_an_existing_world_readable_database_file_is_made_private(tmp_path):
    from strategy.store import ReviewStore

    db = tmp_path / "old.db"
    ReviewStore(db).close()
    db.chmod(0o644)
    ReviewStore(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
