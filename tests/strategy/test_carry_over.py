"""Approvals carried from one month's run to the next: carried when nothing drifted, sent back to
review when the drift report says so, vetoes kept, experiments kept with their id (and arms)."""
from __future__ import annotations

import json
from datetime import date

import pytest

from core.errors import UserError
from strategy.audit import verify_chain
from strategy.auth import PermissionDenied
from strategy.canonical import content_hash
from strategy.carry_over import SYSTEM_ACTOR, carry_over
from strategy.experiments import experiments_for_run
from strategy.export import export_mappings
from strategy.proposals import propose_strategies
from strategy.reconcile import reconcile
from strategy.run_view import load_run_view
from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER, MANAGER2, make_portfolio, write_run

NEW_RUN_ID = "20261223-080000-5a0000c002"
DRIFT = {"review_needed": True, "personas": [
    {"persona_id": 2, "base_share": 0.25, "new_share": 0.41, "low": 0.38, "high": 0.44,
     "review_needed": True, "reason": "share 41% against 25% in the base run (interval 38-44%)"}],
    "features": [{"feature": "balance", "psi": 0.31, "level": "high"}]}


@pytest.fixture
def base(store, run):
    """Month one: every persona approved except 3 (vetoed), a challenger experiment for persona 0."""
    for proposal in propose_strategies(run.profiles):
        mapping = store.propose(ANALYST, run, proposal.persona_id, proposal.strategy,
                                evidence=proposal.evidence)
        if proposal.persona_id != 3:
            store.approve(MANAGER, run, proposal.persona_id, expected_version=mapping.version)
    store.reject(COMPLIANCE, run, 3, "no collection letters before the legal check",
                 expected_version=store.get_mapping(run, 3).version)
    store.propose_challenger(ANALYST, run, 0, challenger_share=0.3, holdout_share=0.1)
    store.approve_challenger(MANAGER, run, 0, expected_version=1)
    return run


@pytest.fixture
def new_run(tmp_path):
    """Month two: the same account ids where accounts stayed, other balances and flags."""
    return load_run_view(write_run(tmp_path / "runs" / NEW_RUN_ID, make_portfolio(seed=8), NEW_RUN_ID))


def test_approvals_carry_to_the_new_run_with_the_original_approver(store, base, new_run):
    result = carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas=set(), drift={})
    assert result["carried"] == [0, 1, 2] and result["review"] == []
    for pid in (0, 1, 2):
        old, new = store.get_mapping(base, pid), store.get_mapping(new_run, pid)
        assert new.state == "approved" and new.approval_valid is True
        assert new.approved_by == old.approved_by == MANAGER.username
        assert new.approved_at == old.approved_at and new.strategy_hash == old.strategy_hash
    entries = store.audit_entries(action="carried_over", run_id=new_run.run_id)
    assert len(entries) == 3 and entries[0].user == "system:apply"
    assert entries[0].details["base_run_id"] == base.run_id
    assert entries[0].details["drift_sha256"] == content_hash({})
    assert verify_chain(store).ok and reconcile(store) == []


def test_a_persona_the_drift_report_sends_back_arrives_as_a_proposal(store, base, new_run):
    result = carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas={2}, drift=DRIFT)
    assert result["carried"] == [0, 1] and result["review"] == [2]
    mapping = store.get_mapping(new_run, 2)
    assert mapping.state == "proposed" and mapping.approved_by is None
    assert mapping.proposed_by == ANALYST.username and "41%" in mapping.reason
    entry = store.audit_entries(action="sent_back_to_review", run_id=new_run.run_id)[0]
    assert entry.persona_id == 2 and "41%" in entry.details["reason"]
    assert entry.details["drift_sha256"] == content_hash(DRIFT)
    with pytest.raises(PermissionDenied):
        store.approve(ANALYST, new_run, 2, expected_version=mapping.version)
    assert store.approve(MANAGER2, new_run, 2, expected_version=mapping.version).state == "approved"
    assert reconcile(store) == []


def test_a_vetoed_persona_stays_vetoed(store, base, new_run):
    result = carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas=set(), drift={})
    assert 3 in result["not_approved_in_base"] and result["vetoed"] == [3]
    mapping = store.get_mapping(new_run, 3)
    assert mapping.state == "rejected" and mapping.veto is not None
    assert mapping.veto.vetoed_by == COMPLIANCE.username
    proposal = store.propose(ANALYST, new_run, 3, mapping.strategy, expected_version=mapping.version)
    with pytest.raises(UserError, match="compliance veto"):
        store.approve(MANAGER, new_run, 3, expected_version=proposal.version)
    assert store.audit_entries(action="veto_carried_over", run_id=new_run.run_id)


def test_an_approved_experiment_carries_with_its_id_and_the_run_it_began_in(store, base, new_run):
    before = experiments_for_run(store, base.run_id)[0]
    result = carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas=set(), drift={})
    assert result["experiments"] == [0]
    after = store.get_experiment(new_run, 0)
    assert after.state == "approved" and after.approval_valid is True
    assert after.experiment_id == before.experiment_id and after.started_run_id == base.run_id
    assert (after.challenger_share, after.holdout_share, after.min_sample_per_arm) == \
        (before.challenger_share, before.holdout_share, before.min_sample_per_arm)
    assert after.approved_by == MANAGER.username


def test_an_experiment_of_a_persona_sent_back_needs_a_new_approval_but_keeps_its_id(store, base, new_run):
    before = experiments_for_run(store, base.run_id)[0]
    carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas={0}, drift=DRIFT)
    after = store.get_experiment(new_run, 0)
    assert after.state == "proposed" and after.experiment_id == before.experiment_id
    assert experiments_for_run(store, new_run.run_id) == {}


def test_accounts_keep_their_arm_in_next_months_export(store, base, new_run):
    carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas=set(), drift={})
    arms = {}
    for month in (base, new_run):
        store.sign_off_model(COMPLIANCE, month, "checked")
        if month is base:  # the vetoed persona must be settled for month one's export
            store.lift_veto(COMPLIANCE, base, 3, "legal check done")
            mapping = store.propose(ANALYST, base, 3, store.get_mapping(base, 3).strategy,
                                    expected_version=store.get_mapping(base, 3).version)
            store.approve(MANAGER, base, 3, expected_version=mapping.version)
        else:
            store.lift_veto(COMPLIANCE, new_run, 3, "legal check done")
            mapping = store.propose(ANALYST, new_run, 3, store.get_mapping(new_run, 3).strategy,
                                    expected_version=store.get_mapping(new_run, 3).version)
            store.approve(MANAGER, new_run, 3, expected_version=mapping.version)
        document = json.loads(export_mappings(store, month, MANAGER, fmt="json", level="accounts",
                                              start=date(2026, 12, 7)).content)
        arms[month.run_id] = {r["account_id"]: r["arm"] for r in document["accounts"] if r["persona_id"] == 0}
    first, second = arms[base.run_id], arms[new_run.run_id]
    shared = set(first) & set(second)
    assert len(shared) > 50 and {first[a] for a in shared} == {"champion", "challenger", "holdout"}
    assert all(first[a] == second[a] for a in shared)


def test_personas_not_approved_in_the_base_run_get_nothing(store, run, new_run):
    for proposal in propose_strategies(run.profiles):
        store.propose(ANALYST, run, proposal.persona_id, proposal.strategy)
    store.approve(MANAGER, run, 1, expected_version=1)
    result = carry_over(store, SYSTEM_ACTOR, run.run_id, new_run, review_personas=set(), drift={})
    assert result["carried"] == [1] and result["not_approved_in_base"] == [0, 2, 3]
    assert store.find_mapping(new_run, 0) is None


def test_carrying_twice_changes_nothing_and_an_analyst_cannot_carry(store, base, new_run):
    carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas=set(), drift={})
    seq = store.audit_head()[0]
    again = carry_over(store, SYSTEM_ACTOR, base.run_id, new_run, review_personas=set(), drift={})
    assert again["carried"] == [] and store.audit_head()[0] == seq
    with pytest.raises(PermissionDenied):
        carry_over(store, ANALYST, base.run_id, new_run, review_personas=set(), drift={})
