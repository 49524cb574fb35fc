"""A manager approves exactly the version shown; a compliance veto stands until compliance lifts it."""
from __future__ import annotations

import sqlite3

import pytest

from tests.strategy.conftest import ANALYST, ANALYST2, COMPLIANCE, MANAGER
from core.errors import UserError
from strategy.auth import PermissionDenied
from strategy.catalogue import Strategy
from strategy.store import ReviewStore
from strategy.workflow import StaleMappingError

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)

SMS = Strategy(channel="sms", offer="payment_link", tone="friendly", rationale="cheap and read")


# ---------------------------------------------------------------- version and hash
def test_every_mapping_shows_a_version_hash_that_the_approval_binds(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    assert len(mapping.version_hash) == 64
    approved = store.approve(MANAGER, run, 0, expected_version=mapping.version)
    assert approved.approval_hash == mapping.version_hash
    assert store.audit_entries(action="approved")[-1].details["version"] == mapping.version


def test_an_approval_without_a_version_is_refused_naming_the_current_one(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    with pytest.raises(UserError, match=r"say which version.*version 1 \(hash "
                                        + mapping.version_hash[:16]):
        store.approve(MANAGER, run, 0)
    assert store.get_mapping(run, 0).state == "proposed"
    assert store.audit_entries(action="approval_refused")


def test_a_stale_version_is_refused_and_the_changed_one_is_not_approved(store, run):
    listed = store.propose(ANALYST, run, 0, SMS)  # the manager lists version 1 ...
    store.edit(ANALYST2, run, 0, SMS.with_changes(tone="firm"),
               expected_version=listed.version)  # ... an analyst changes it before he approves
    with pytest.raises(StaleMappingError, match=r"you reviewed version 1.*changed by erin.*"
                                                r"now at version 2"):
        store.approve(MANAGER, run, 0, expected_version=listed.version)
    assert store.get_mapping(run, 0).state == "proposed"


def test_a_hash_prefix_of_twelve_digits_names_the_version(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    with pytest.raises(UserError, match="12 to 64 hex digits"):
        store.approve(MANAGER, run, 0, expected_hash=mapping.version_hash[:8])
    approved = store.approve(MANAGER, run, 0, expected_hash=mapping.version_hash[:12].upper())
    assert approved.state == "approved"


def test_a_hash_of_other_content_is_refused(store, run):
    listed = store.propose(ANALYST, run, 0, SMS)
    store.edit(ANALYST2, run, 0, SMS.with_changes(tone="firm"), expected_version=listed.version)
    with pytest.raises(StaleMappingError, match="is not the current content.*version 2"):
        store.approve(MANAGER, run, 0, expected_hash=listed.version_hash)


def test_version_and_hash_must_both_match_when_both_are_given(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    other = store.propose(ANALYST, run, 1, SMS.with_changes(offer="hardship_referral"))
    with pytest.raises(StaleMappingError):
        store.approve(MANAGER, run, 0, expected_version=mapping.version,
                      expected_hash=other.version_hash)


# ---------------------------------------------------------------- the sticky veto
def _vetoed(store, run, pid=0):
    mapping = store.propose(ANALYST, run, pid, SMS)
    return store.reject(COMPLIANCE, run, pid, "SMS reveals the debt on a lock screen",
                        expected_version=mapping.version)


def test_a_compliance_rejection_is_a_veto_that_stands(store, run):
    vetoed = _vetoed(store, run)
    assert vetoed.veto.active and vetoed.veto.vetoed_by == "carol"
    assert any("compliance veto by carol" in b for b in vetoed.approval_blockers(MANAGER))
    assert store.audit_entries(action="rejected")[-1].details["veto"] is True


def test_the_same_content_proposed_again_cannot_be_approved_while_the_veto_stands(store, run):
    vetoed = _vetoed(store, run)
    again = store.propose(ANALYST2, run, 0, SMS, expected_version=vetoed.version)
    assert again.state == "proposed" and again.strategy == SMS
    with pytest.raises(UserError, match="compliance veto by carol.*until a compliance reviewer "
                                        "lifts it"):
        store.approve(MANAGER, run, 0, expected_version=again.version)
    assert store.get_mapping(run, 0).state == "proposed"


def test_changed_content_cannot_be_approved_either_while_the_veto_stands(store, run):
    vetoed = _vetoed(store, run)
    changed = store.propose(ANALYST, run, 0, SMS.with_changes(channel="letter"),
                            expected_version=vetoed.version)
    with pytest.raises(UserError, match="compliance veto"):
        store.approve(MANAGER, run, 0, expected_version=changed.version)


def test_only_compliance_lifts_a_veto_with_a_reason_and_it_is_audited(store, run):
    vetoed = _vetoed(store, run)
    again = store.propose(ANALYST, run, 0, SMS.with_changes(channel="letter"),
                          expected_version=vetoed.version)
    for user in (MANAGER, ANALYST):
        with pytest.raises(PermissionDenied, match="only a compliance reviewer"):
            store.lift_veto(user, run, 0, "fine now")
    with pytest.raises(UserError, match="reason"):
        store.lift_veto(COMPLIANCE, run, 0, " ")
    lifted = store.lift_veto(COMPLIANCE, run, 0, "letters only now; checked the wording")
    assert not lifted.active and lifted.lifted_by == "carol"
    entry = store.audit_entries(action="veto_lifted")[-1]
    assert entry.details["veto_id"] == vetoed.veto.id and entry.persona_id == 0
    approved = store.approve(MANAGER, run, 0, expected_version=again.version)
    assert approved.state == "approved" and approved.veto is None
    assert store.verify_audit().ok


def test_lifting_without_a_standing_veto_is_refused(store, run):
    store.propose(ANALYST, run, 0, SMS)
    with pytest.raises(UserError, match="no compliance veto stands"):
        store.lift_veto(COMPLIANCE, run, 0, "nothing to lift")


def test_a_veto_of_an_approved_mapping_also_stands(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    mapping = store.approve(MANAGER, run, 0, expected_version=mapping.version)
    vetoed = store.reject(COMPLIANCE, run, 0, "model not signed off",
                          expected_version=mapping.version)
    again = store.propose(ANALYST, run, 0, SMS, expected_version=vetoed.version)
    with pytest.raises(UserError, match="compliance veto"):
        store.approve(MANAGER, run, 0, expected_version=again.version)


def test_compliance_may_reject_without_a_veto_and_a_manager_cannot_veto(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    rejected = store.reject(COMPLIANCE, run, 0, "typo in the rationale",
                            expected_version=mapping.version, veto=False)
    assert rejected.veto is None
    again = store.propose(ANALYST, run, 0, SMS, expected_version=rejected.version)
    with pytest.raises(PermissionDenied, match="only a compliance reviewer vetoes"):
        store.reject(MANAGER, run, 0, "no", expected_version=again.version, veto=True)
    assert store.approve(MANAGER, run, 0, expected_version=again.version).state == "approved"


def test_a_veto_is_per_persona(store, run):
    _vetoed(store, run, pid=0)
    other = store.propose(ANALYST, run, 2, SMS)
    assert store.approve(MANAGER, run, 2, expected_version=other.version).state == "approved"


def test_a_database_from_before_vetoes_and_second_persons_still_opens(tmp_path, run):
    """Tables and columns added by this release are created on open; old overrides are pending."""
    path = tmp_path / "old.db"
    old = ReviewStore(path)
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE vetoes")
        conn.execute("DROP TABLE account_clearances")
        conn.execute("CREATE TABLE ao_old AS SELECT id, run_id, account_id, persona_id, "
                     "strategy_version_id, reason, created_by, created_at FROM account_overrides")
        conn.execute("DROP TABLE account_overrides")
        conn.execute("ALTER TABLE ao_old RENAME TO account_overrides")
        conn.execute("INSERT INTO runs VALUES (?, NULL, 'x', 'bob', 't', NULL, NULL)", (run.run_id,))
        conn.execute("INSERT INTO account_overrides VALUES (1, ?, 'A00001', 1, NULL, 'old', 'bob', "
                     "'t')", (run.run_id,))
    reopened = ReviewStore(path)
    assert reopened.pending_overrides(run.run_id)["account_id"].tolist() == ["A00001"]
    assert reopened.account_overrides(run.run_id).empty
    assert reopened.vetoes(run.run_id) == []
    reopened.close()
