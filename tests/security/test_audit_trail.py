"""The audit trail cannot be rewritten unnoticed and misses nothing.

Each attack is what someone with write access to the database file can do with ``sqlite3`` (or by
copying files): forge an approval, flip the kill switch, cut the log's tail and fix its head,
rewrite the log with recomputed hashes, put back an older copy of the whole file, swap in another
database. Each is detected by ``audit verify`` or refused at export. The head is anchored in a
signed checkpoint outside the database (``strategy/anchor.py``), which the attacker cannot write.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.security.conftest import ADMIN, ANALYST, COMPLIANCE, MANAGER
from strategy.audit import entry_hash, verify_chain
from strategy.export import ExportRefused, export_mappings
from strategy.reconcile import reconcile


def _db(store) -> Path:
    return Path(store.engine.url.database)


def _sql(store, *statements, params=()):
    with sqlite3.connect(_db(store)) as conn:
        for statement in statements:
            conn.execute(statement, params)


def _approve_and_sign_off(store, run):
    for pid in run.persona_ids:
        mapping = store.get_mapping(run, pid)
        store.approve(MANAGER, run, pid, expected_version=mapping.version)
    store.sign_off_model(COMPLIANCE, run, "checked")


def _cli_verify(store, *extra) -> int:
    from application.cli import main

    return main(["audit", "verify", "--db", str(_db(store)), *extra])


# ---------------------------------------------------------------- forged state
def test_an_approval_written_straight_into_the_database_is_refused_at_export(review, tmp_path):
    store, run, _ = review
    store.sign_off_model(COMPLIANCE, run, "checked")
    _sql(store, "UPDATE mappings SET state = 'approved', approved_by = 'mia', "
                "approval_hash = 'forged'")
    with pytest.raises(ExportRefused) as refused:
        export_mappings(store, run, MANAGER, fmt="csv", out=tmp_path / "x.csv")
    assert any("voided" in line or "no such approval" in line for line in refused.value.lines)
    assert not (tmp_path / "x.csv").exists()


def test_a_forged_approval_with_the_right_hash_is_still_refused(review, tmp_path):
    """Even a forger who computes the true approval hash has no ``approved`` entry to match."""
    from strategy.mapping_view import approval_hash

    store, run, _ = review
    store.sign_off_model(COMPLIANCE, run, "checked")
    for pid in run.persona_ids:
        bound = approval_hash(run, pid, store.get_mapping(run, pid).strategy_hash)
        _sql(store, "UPDATE mappings SET state = 'approved', approved_by = 'mia', approval_hash = ? "
                    f"WHERE persona_id = {pid}", params=(bound,))
    assert all(m.approval_valid for m in store.list_mappings(run))  # the hash alone would pass
    with pytest.raises(ExportRefused, match="no such approval"):
        export_mappings(store, run, MANAGER, fmt="json", out=tmp_path / "x.json")


def test_forged_approvals_are_reported_by_audit_verify(review, capsys):
    store, run, _ = review
    _sql(store, "UPDATE mappings SET state = 'approved', approved_by = 'mia', approval_hash = 'x'")
    assert _cli_verify(store) == 1
    assert "records no such approval" in capsys.readouterr().err


def test_a_kill_switch_turned_off_in_the_database_is_detected_and_exports_stay_refused(review,
                                                                                     tmp_path):
    store, run, _ = review
    _approve_and_sign_off(store, run)
    store.set_kill_switch(COMPLIANCE, True, "model under review")
    _sql(store, "UPDATE settings SET value = '{\"on\": false, \"reason\": \"\"}' "
                "WHERE key = 'kill_switch'")
    assert any("kill switch is off in the database" in line for line in reconcile(store))
    with pytest.raises(ExportRefused, match="kill switch"):
        export_mappings(store, run, MANAGER, fmt="csv", out=tmp_path / "x.csv")


def test_an_administrator_inserted_into_the_users_table_is_detected(review):
    store, _run, _ = review
    _sql(store, "INSERT INTO users (username, role, password_hash, disabled, created_at, "
                "created_by) VALUES ('mallory', 'admin', NULL, 0, '2026-01-01', 'root')")
    assert any("mallory (admin) is in the users table but no audit entry" in line
               for line in reconcile(store))


def test_a_password_hash_replaced_in_the_database_is_detected(review):
    store, _run, _ = review
    store.set_password(ADMIN, "mia", "a brand new secret")
    _sql(store, "UPDATE users SET password_hash = '$argon2id$forged' WHERE username = 'mia'")
    assert "user mia's password hash was replaced without an audit entry" in reconcile(store)


def test_a_role_raised_in_the_database_is_detected(review):
    store, _run, _ = review
    _sql(store, "UPDATE users SET role = 'admin' WHERE username = 'ana'")
    assert any("user ana is admin in the users table but the audit log says analyst" in line
               for line in reconcile(store))


# ---------------------------------------------------------------- the log itself
def test_cutting_the_tail_and_fixing_the_recorded_head_is_detected(review):
    store, run, _ = review
    _approve_and_sign_off(store, run)
    last = store.audit_head()[0]
    keep = last - 3
    kept_hash = next(e.entry_hash for e in store.audit_entries() if e.seq == keep)
    _sql(store, f"DELETE FROM audit_log WHERE seq > {keep}",
         f"UPDATE settings SET value = '[{keep}, \"{kept_hash}\"]' WHERE key = 'audit_head'")
    result = verify_chain(store)
    assert not result.ok and result.first_bad_seq == keep + 1
    assert "older copy of the database was restored" in result.message or "deleted" in result.message


def test_a_rewrite_with_recomputed_hashes_is_detected(review):
    """Change an approval's user and recompute every hash and the head: a consistent fake chain."""
    store, run, _ = review
    _approve_and_sign_off(store, run)
    rows = [dict(r._mapping) for r in store.engine.connect().execute(
        __import__("sqlalchemy").text("SELECT * FROM audit_log ORDER BY seq"))]
    prev = "0" * 64
    with sqlite3.connect(_db(store)) as conn:
        for row in rows:
            if row["action"] == "approved":
                row["user"] = "dave"
            row["prev_hash"] = prev
            row["entry_hash"] = entry_hash(row)
            conn.execute("UPDATE audit_log SET user = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                         (row["user"], row["prev_hash"], row["entry_hash"], row["seq"]))
            prev = row["entry_hash"]
        conn.execute("UPDATE settings SET value = ? WHERE key = 'audit_head'",
                     (json.dumps([rows[-1]["seq"], prev]),))
    result = verify_chain(store)
    assert not result.ok
    assert "rewritten" in result.message


def test_restoring_an_earlier_copy_of_the_whole_database_file_is_detected(review, tmp_path):
    store, run, _ = review
    db = _db(store)
    store.engine.dispose()
    backup = tmp_path / "backup.db"
    shutil.copy(db, backup)
    _approve_and_sign_off(store, run)
    store.set_kill_switch(COMPLIANCE, True, "stop everything")
    store.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, db)  # the kill switch is off again and the approvals are gone
    result = verify_chain(store)
    assert not result.ok
    assert "older copy of the database was restored" in result.message


def test_a_restored_database_never_becomes_the_truth_by_growing_past_the_checkpoint(review,
                                                                                   tmp_path):
    store, run, _ = review
    db = _db(store)
    store.engine.dispose()
    backup = tmp_path / "backup.db"
    shutil.copy(db, backup)
    _approve_and_sign_off(store, run)
    store.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, db)
    for i in range(12):  # more new entries than were cut off
        store.set_kill_switch(COMPLIANCE, i % 2 == 0, "drill")
    assert not verify_chain(store).ok


def test_another_database_put_in_the_place_of_this_one_is_detected(review, tmp_path):
    from strategy.store import ReviewStore
    from tests.user_factory import add_users

    store, _run, _ = review
    db = _db(store)
    other = ReviewStore(tmp_path / "other.db")
    add_users(other, (ADMIN, ANALYST))
    other.close()
    store.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "other.db", db)
    result = verify_chain(store)
    assert not result.ok and "belongs to database" in result.message


def test_deleting_the_database_id_to_start_a_fresh_anchor_is_detected(review):
    from strategy.store import ReviewStore

    store, _run, _ = review
    _sql(store, "DELETE FROM settings WHERE key = 'database_id'")
    reopened = ReviewStore(_db(store))  # gives itself a new id, but the anchor remembers the old
    result = verify_chain(reopened)
    assert not result.ok and "belongs to database" in result.message


def test_an_intact_trail_verifies_from_the_command_line(review, capsys):
    store, run, _ = review
    _approve_and_sign_off(store, run)
    assert _cli_verify(store) == 0
    assert "anchored up to entry" in capsys.readouterr().out


# ---------------------------------------------------------------- export against the log
def test_export_requires_the_compliance_sign_off_of_the_run(review, tmp_path):
    store, run, _ = review
    for pid in run.persona_ids:
        store.approve(MANAGER, run, pid, expected_version=store.get_mapping(run, pid).version)
    with pytest.raises(ExportRefused, match="not signed off by a compliance reviewer"):
        export_mappings(store, run, MANAGER, fmt="csv", out=tmp_path / "x.csv")
    store.sign_off_model(COMPLIANCE, run, "checked")
    assert export_mappings(store, run, MANAGER, fmt="csv", out=tmp_path / "x.csv").rows == 2


def test_the_sign_off_rule_can_be_switched_off_deliberately(review, tmp_path):
    from strategy.settings import StrategySettings
    from strategy.store import ReviewStore

    store, run, _ = review
    for pid in run.persona_ids:
        store.approve(MANAGER, run, pid, expected_version=store.get_mapping(run, pid).version)
    relaxed = ReviewStore(_db(store), settings=StrategySettings(require_model_sign_off=False))
    assert export_mappings(relaxed, run, MANAGER, fmt="csv", out=tmp_path / "x.csv").rows == 2


def test_audit_verify_export_accepts_an_untouched_export(review, tmp_path, capsys):
    store, run, _ = review
    _approve_and_sign_off(store, run)
    for fmt in ("csv", "json", "xlsx"):
        export_mappings(store, run, MANAGER, fmt=fmt, out=tmp_path / f"out.{fmt}")
        assert _cli_verify(store, "--export", str(tmp_path / f"out.{fmt}")) == 0
    assert _cli_verify(store, "--export", str(tmp_path / "out.provenance.json")) == 0
    assert "approvals match approved entries" in capsys.readouterr().out


def test_audit_verify_export_refuses_a_file_changed_after_export(review, tmp_path, capsys):
    store, run, _ = review
    _approve_and_sign_off(store, run)
    out = tmp_path / "out.csv"
    export_mappings(store, run, MANAGER, fmt="csv", out=out)
    out.write_bytes(out.read_bytes().replace(b"mia", b"bob"))
    assert _cli_verify(store, "--export", str(out)) == 1
    assert "matches no export in the audit log" in capsys.readouterr().err


def test_audit_verify_export_refuses_an_export_whose_approval_was_not_in_force(review, tmp_path,
                                                                               capsys):
    """The export entry lists its approvals; one that the log does not show approved fails."""
    store, run, _ = review
    _approve_and_sign_off(store, run)
    out = tmp_path / "out.json"
    result = export_mappings(store, run, MANAGER, fmt="json", out=out)
    entry = store.audit_entries(action="exported")[-1]
    details = dict(entry.details, approvals={"0": "f" * 64, "1": entry.details["approvals"]["1"]})
    from strategy.audit import append

    with store.transaction() as conn:  # a legitimate-looking entry for a forged export
        append(conn, MANAGER, "exported", run_id=run.run_id, content=result.sha256, details=details)
    assert _cli_verify(store, "--export", str(out)) == 1
    assert "persona 0: the exported approval" in capsys.readouterr().err


# ---------------------------------------------------------------- nothing is missed
def test_discovery_runs_persona_edits_refused_approvals_vetoes_kill_switch_and_user_changes_are_logged(
        review):
    from strategy.auth import PermissionDenied

    store, run, _ = review
    store.record_run(ANALYST, run)
    store.record_run(ANALYST, run, edit={"action": "rename", "persona_id": 0, "name": "Neu"})
    mapping = store.get_mapping(run, 0)
    with pytest.raises(PermissionDenied):
        store.approve(ANALYST, run, 0, expected_version=mapping.version)
    store.reject(COMPLIANCE, run, 1, "not proportionate", expected_version=store.get_mapping(run, 1).version)
    store.set_kill_switch(COMPLIANCE, True, "drill")
    store.set_disabled(ADMIN, "ana", True)
    store.remove_user(ADMIN, "ana")
    actions = [e.action for e in store.audit_entries()]
    for expected in ("run_created", "persona_edited", "approval_refused", "rejected",
                     "kill_switch_on", "user_changed", "user_removed"):
        assert expected in actions, expected
    refused = store.audit_entries(action="approval_refused")[0]
    assert refused.user == "ana" and "may not approve" in refused.details["reasons"][0]
    veto = store.audit_entries(action="rejected")[0]
    assert veto.details["veto"] is True


def test_two_identities_of_one_person_cannot_complete_four_eyes_and_are_flagged(review):
    from core.errors import UserError
    from strategy.auth import User

    store, run, _ = review
    store.add_user(ADMIN, "ana-boss", "manager", None, person="Ana")
    with pytest.raises(UserError, match="same person"):
        store.approve(User("ana-boss", "manager"), run, 0,
                      expected_version=store.get_mapping(run, 0).version)
    assert store.audit_entries(action="approval_refused")[-1].user == "ana-boss"
    assert any("person 'ana' holds 2 identities" in line and "created by root" in line
               for line in store.role_conflicts())
    store.approve(MANAGER, run, 0, expected_version=store.get_mapping(run, 0).version)  # control


def test_the_command_line_records_its_discovery_runs_and_edits_as_the_operator(review):
    from types import SimpleNamespace

    from application.cli import _record_discovery_run
    from application.cli_edit import _record_edit
    from strategy.auth import operator_user

    store, run, run_dir = review
    _record_discovery_run(SimpleNamespace(out=str(run_dir)))
    _record_edit(run_dir, {"action": "rename", "persona_id": 0, "name": "Neu", "user": "alice"})
    created = store.audit_entries(action="run_created")[-1]
    edited = store.audit_entries(action="persona_edited")[-1]
    assert (created.user, created.run_id) == (operator_user().username, run.run_id)
    assert edited.user == operator_user().username and edited.details["edit"]["user"] == "alice"
