"""Four-eyes review of persona -> strategy mappings."""
from __future__ import annotations


import pytest

from tests.run_factory import save_fabricated_run
from tests.strategy.conftest import ADMIN, ANALYST, ANALYST2, COMPLIANCE, MANAGER, MANAGER2
from core.errors import UserError
from strategy.auth import PermissionDenied, User
from strategy.catalogue import Strategy
from strategy.run_view import load_run_view
from strategy.store import ReviewStore
from strategy.workflow import StaleMappingError

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)

SMS = Strategy(channel="sms", offer="payment_link", tone="friendly", rationale="cheap and read")


def test_approving_ones_own_proposal_is_refused(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    store.set_role(ADMIN, "alice", "manager")  # promoted after proposing: still the maker
    alice_as_manager = User("alice", "manager")
    with pytest.raises(UserError, match="four-eyes"):
        store.approve(alice_as_manager, run, 0, expected_version=mapping.version)
    assert store.get_mapping(run, 0).state == "proposed"


def test_the_last_editor_cannot_approve(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    mapping = store.edit(ANALYST2, run, 0, SMS.with_changes(tone="neutral"),
                         expected_version=mapping.version)
    assert ANALYST2.username in mapping.approval_blockers(User("erin", "manager"))[0]


def test_approval_by_a_non_manager_is_refused(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    for user in (ANALYST2, COMPLIANCE):
        with pytest.raises(PermissionDenied, match="manager"):
            store.approve(user, run, 0, expected_version=mapping.version)
    assert store.get_mapping(run, 0).state == "proposed"


def test_a_manager_who_did_not_propose_can_approve(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    approved = store.approve(MANAGER, run, 0, expected_version=mapping.version)
    assert (approved.state, approved.approved_by, approved.approval_valid) == ("approved", "bob", True)


def test_an_edit_after_approval_voids_it(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    mapping = store.approve(MANAGER, run, 0, expected_version=mapping.version)
    edited = store.edit(ANALYST, run, 0, SMS.with_changes(contacts_per_week=2),
                        expected_version=mapping.version)
    assert (edited.state, edited.approved_by, edited.approval_hash) == ("proposed", None, None)
    assert store.audit_entries(action="edited")[-1].details["approval_voided"]


def test_a_changed_persona_definition_voids_the_approval(store, run, tmp_path, portfolio_frame):
    """A run re-saved under the same id with another definition (only possible with the signing key)."""
    mapping = store.propose(ANALYST, run, 0, SMS)
    store.approve(MANAGER, run, 0, expected_version=mapping.version)
    profiles = [dict(p) for p in run.profiles]
    profiles[0]["name"] = "Renamed early payers"
    changed = load_run_view(save_fabricated_run(tmp_path / "resaved", run.run_id, profiles, run.accounts).path)
    assert store.get_mapping(changed, 0).approval_valid is False
    assert store.revalidate_approvals(MANAGER, changed) == [0]
    assert store.get_mapping(changed, 0).state == "proposed"
    assert store.audit_entries(action="approval_voided")


def test_rejection_needs_a_reason_and_can_be_re_proposed(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    with pytest.raises(UserError, match="reason"):
        store.reject(MANAGER, run, 0, "  ", expected_version=mapping.version)
    rejected = store.reject(MANAGER, run, 0, "too many texts", expected_version=mapping.version)
    assert (rejected.state, rejected.reason) == ("rejected", "too many texts")
    again = store.propose(ANALYST, run, 0, SMS.with_changes(contacts_per_week=1),
                          expected_version=rejected.version)
    assert again.state == "proposed"


def test_compliance_may_veto_an_approved_mapping(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    mapping = store.approve(MANAGER, run, 0, expected_version=mapping.version)
    vetoed = store.reject(COMPLIANCE, run, 0, "model not signed off", expected_version=mapping.version)
    assert vetoed.state == "rejected"
    assert store.audit_entries(action="rejected")[-1].details["veto"] is True


def test_a_guardrail_violation_blocks_approval_naming_the_rule(store, run):
    night = SMS.with_changes(contact_start_hour=20, contact_end_hour=23)
    mapping = store.propose(ANALYST, run, 0, night)
    assert not mapping.guardrails_pass
    with pytest.raises(UserError, match=r"approval of persona 0 refused: Contact hours VIOLATED"):
        store.approve(MANAGER, run, 0, expected_version=mapping.version)


def test_a_stale_save_is_refused_and_nothing_is_lost(store, run):
    opened = store.propose(ANALYST, run, 0, SMS)
    first, second = ReviewStore(store.url), ReviewStore(store.url)  # two sessions, same version open
    first.edit(ANALYST, run, 0, SMS.with_changes(contacts_per_week=3),
               expected_version=opened.version)
    mine = SMS.with_changes(tone="neutral")
    with pytest.raises(StaleMappingError, match="changed by alice at .* reload") as err:
        second.edit(ANALYST2, run, 0, mine, expected_version=opened.version)
    assert err.value.attempted == mine  # the refused edit is handed back, not dropped
    current = store.get_mapping(run, 0)
    assert current.strategy.contacts_per_week == 3 and current.version == opened.version + 1
    assert [e.user for e in store.audit_entries(action="edited")] == ["alice"]
    first.close(), second.close()


def test_concurrent_threads_never_both_save_the_same_version(store, run):
    from concurrent.futures import ThreadPoolExecutor
    opened = store.propose(ANALYST, run, 0, SMS)

    def save(n: int) -> str:
        session = ReviewStore(store.url)
        try:
            session.edit(ANALYST, run, 0, SMS.with_changes(contacts_per_week=n),
                         expected_version=opened.version)
            return "saved"
        except StaleMappingError:
            return "stale"
        finally:
            session.close()

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(save, range(1, 5)))
    assert sorted(outcomes) == ["saved", "stale", "stale", "stale"]
    assert store.verify_audit().ok


def test_a_per_account_override_needs_a_reason_and_is_audited(store, run):
    with pytest.raises(UserError, match="reason"):
        store.override_account(MANAGER, run, "A00001", persona_id=1, reason="")
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=1,
                                         reason="job loss reported")
    pending = store.pending_overrides(run.run_id)
    assert pending.loc[0, ["id", "account_id", "persona_id", "status"]].tolist() == \
        [override_id, "A00001", 1, "pending"]
    assert store.account_overrides(run.run_id).empty, "it counts only after a second person"
    assert store.audit_entries(action="overridden")[0].details["account_id"] == "A00001"


def test_the_kill_switch_needs_a_role_and_a_reason(store):
    with pytest.raises(PermissionDenied):
        store.set_kill_switch(ANALYST, True, "stop")
    with pytest.raises(UserError, match="why"):
        store.set_kill_switch(MANAGER2, True, "")
    store.set_kill_switch(MANAGER2, True, "model drift")
    assert store.kill_switch()["on"] and store.kill_switch()["updated_by"] == "dave"


def test_analysts_propose_and_managers_do_not(store, run):
    with pytest.raises(PermissionDenied, match="analyst"):
        store.propose(MANAGER, run, 0, SMS)
