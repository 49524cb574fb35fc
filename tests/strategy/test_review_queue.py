"""An account override needs a second person; needs_review accounts wait for a person (held_accounts)."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER, MANAGER2, raw_sql
from core.errors import UserError
from strategy.auth import PermissionDenied, User
from strategy.catalogue import Strategy
from strategy.review_queue import held_accounts, review_plan

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)

SMS = Strategy(channel="sms", offer="payment_link", tone="friendly", rationale="cheap and read")


def plan_of(run, needs_review=()):
    """A plan like strategy.account_plan writes: one row per account, some flagged needs_review."""
    plan = run.accounts[["account_id", "persona_id"]].copy()
    plan["needs_review"] = plan["account_id"].isin(set(needs_review))
    plan["review_reason"] = ["over-indebted: court step removed" if f else ""
                             for f in plan["needs_review"]]
    return plan


def held(store, run, plan):
    frame = held_accounts(store, run.run_id, plan)
    assert list(frame.columns) == ["account_id", "reason"]
    return dict(zip(frame["account_id"], frame["reason"]))


# ---------------------------------------------------------------- overrides: second person
def test_an_override_by_one_person_is_held_until_a_second_approves_it(store, run):
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=1,
                                         reason="job loss reported")
    assert "waits for a second person" in held(store, run, plan_of(run))["A00001"]
    assert store.account_overrides(run.run_id).empty
    store.approve_override(MANAGER2, run, override_id)
    assert held(store, run, plan_of(run)) == {}
    counted = store.account_overrides(run.run_id)
    assert counted.loc[0, ["account_id", "persona_id", "status", "decided_by"]].tolist() == \
        ["A00001", 1, "approved", "dave"]
    entry = store.audit_entries(action="override_approved")[-1]
    assert (entry.user, entry.details["override_id"]) == ("dave", override_id)


def test_the_author_cannot_approve_their_own_override(store, run):
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="asked")
    with pytest.raises(UserError, match="second person must approve it"):
        store.approve_override(MANAGER, run, override_id)
    assert store.pending_overrides(run.run_id)["id"].tolist() == [override_id]
    assert store.audit_entries(action="approval_refused")[-1].details["override_id"] == override_id


def test_another_identity_of_the_author_cannot_approve_it(store, run):
    from strategy.auth import User as U
    from tests.strategy.conftest import ADMIN

    store.add_user(ADMIN, "bob-compliance", "compliance", None, person="bob")
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="asked")
    with pytest.raises(UserError, match="four-eyes"):
        store.approve_override(U("bob-compliance", "compliance"), run, override_id)


def test_an_analyst_can_neither_override_nor_approve_an_override(store, run):
    with pytest.raises(PermissionDenied):
        store.override_account(ANALYST, run, "A00001", persona_id=1, reason="asked")
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="asked")
    with pytest.raises(PermissionDenied):
        store.approve_override(ANALYST, run, override_id)


def test_compliance_may_be_the_second_person(store, run):
    override_id = store.override_account(MANAGER, run, "A00001",
                                         strategy=SMS.with_changes(channel="letter"),
                                         reason="letters only")
    assert store.approve_override(COMPLIANCE, run, override_id)["status"] == "approved"
    assert store.account_overrides(run.run_id).loc[0, "strategy"]["channel"] == "letter"


def test_an_override_cannot_be_approved_twice_or_after_it_was_declined(store, run):
    first = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="asked")
    store.approve_override(MANAGER2, run, first)
    with pytest.raises(UserError, match="approved already"):
        store.approve_override(COMPLIANCE, run, first)
    second = store.override_account(MANAGER, run, "A00002", persona_id=1, reason="asked")
    with pytest.raises(UserError, match="reason"):
        store.decline_override(MANAGER2, run, second, "")
    store.decline_override(MANAGER2, run, second, "no evidence of job loss")
    with pytest.raises(UserError, match="declined already"):
        store.approve_override(COMPLIANCE, run, second)
    assert held(store, run, plan_of(run)) == {}, "a declined override holds nothing back"
    assert store.audit_entries(action="override_declined")[-1].details["override_id"] == second


def test_a_new_override_of_the_account_supersedes_the_pending_one(store, run):
    first = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="asked")
    second = store.override_account(MANAGER2, run, "A00001", persona_id=2, reason="better")
    statuses = dict(zip(store.override_list(run.run_id)["id"],
                        store.override_list(run.run_id)["status"]))
    assert statuses == {first: "superseded", second: "pending"}
    assert f"override {second} by dave" in held(store, run, plan_of(run))["A00001"]


def test_an_override_strategy_that_fails_a_guardrail_cannot_be_approved(store, run):
    night = SMS.with_changes(contact_start_hour=20, contact_end_hour=23)
    override_id = store.override_account(MANAGER, run, "A00001", strategy=night, reason="asked")
    with pytest.raises(UserError, match="fails a guardrail"):
        store.approve_override(MANAGER2, run, override_id)


def test_an_approval_written_into_the_database_without_the_audit_log_does_not_count(
        store, run):
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="asked")
    raw_sql(store, "UPDATE account_overrides SET status='approved', decided_by='dave' WHERE id=:id", id=override_id)
    assert "audit log records no such approval" in held(store, run, plan_of(run))["A00001"]


# ---------------------------------------------------------------- needs_review accounts
def test_needs_review_accounts_are_held_until_a_person_clears_them(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    store.approve(MANAGER, run, 0, expected_version=mapping.version)
    plan = plan_of(run, needs_review={"A00003", "A00004"})
    first = held(store, run, plan)
    assert set(first) == {"A00003", "A00004"}
    assert "needs review (over-indebted: court step removed): not yet cleared" in first["A00003"]
    store.clear_account(COMPLIANCE, run, "A00003", "checked the file: no hardship")
    assert set(held(store, run, plan)) == {"A00004"}
    entry = store.audit_entries(action="account_cleared")[-1]
    assert (entry.user, entry.details["account_id"]) == ("carol", "A00003")


def test_approving_the_persona_does_not_release_its_needs_review_accounts(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    store.approve(MANAGER, run, 0, expected_version=mapping.version)
    assert "A00003" in held(store, run, plan_of(run, needs_review={"A00003"}))


def test_a_clearance_is_void_once_the_strategy_changes(store, run):
    mapping = store.propose(ANALYST, run, 0, SMS)
    store.clear_account(MANAGER, run, "A00003", "looked at it")
    plan = plan_of(run, needs_review={"A00003"})
    assert held(store, run, plan) == {}
    store.edit(ANALYST, run, 0, SMS.with_changes(tone="firm"), expected_version=mapping.version)
    assert "strategy that has changed since" in held(store, run, plan)["A00003"]


def test_the_proposer_of_the_persona_strategy_cannot_clear_its_accounts(store, run):
    from tests.strategy.conftest import ADMIN

    store.propose(ANALYST, run, 0, SMS)
    store.set_role(ADMIN, "alice", "manager")  # promoted after proposing: still the maker
    with pytest.raises(UserError, match="four-eyes"):
        store.clear_account(User("alice", "manager"), run, "A00003", "fine")
    with pytest.raises(PermissionDenied, match="manager or compliance"):
        store.clear_account(User("erin", "analyst"), run, "A00003", "fine")
    with pytest.raises(UserError, match="reason"):
        store.clear_account(MANAGER, run, "A00003", "")
    with pytest.raises(UserError, match="not in run"):
        store.clear_account(MANAGER, run, "NOPE", "fine")


def test_needs_review_given_as_yes_no_text_is_read_as_a_flag(store, run):
    plan = plan_of(run)
    plan["needs_review"] = ["J" if a == "A00007" else "N" for a in plan["account_id"]]
    assert list(held(store, run, plan)) == ["A00007"]


def test_both_reasons_are_given_and_the_plan_order_is_kept(store, run):
    store.override_account(MANAGER, run, "A00009", persona_id=1, reason="asked")
    plan = plan_of(run, needs_review={"A00009", "A00002"})
    frame = held_accounts(store, run.run_id, plan)
    assert frame["account_id"].tolist() == ["A00002", "A00009"]
    reason = frame.set_index("account_id").at["A00009", "reason"]
    assert "waits for a second person" in reason and "not yet cleared" in reason


def test_an_empty_plan_holds_nothing(store, run):
    assert held_accounts(store, run.run_id, pd.DataFrame(
        columns=["account_id", "persona_id", "needs_review"])).empty


def test_the_review_plan_of_a_run_uses_its_needs_review_flag_and_approved_moves(store, run):
    plan = review_plan(run)
    assert list(plan.columns) == ["account_id", "persona_id", "needs_review", "review_reason"]
    assert not plan["needs_review"].any()
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=2, reason="moved")
    store.approve_override(MANAGER2, run, override_id)
    moved = review_plan(run, store).set_index("account_id")
    assert moved.at["A00001", "persona_id"] == 2
