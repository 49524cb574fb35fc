"""Strategies serialise canonically, hash by content, and every edit is a new stored version."""
from __future__ import annotations

import json

import pytest

from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER
from strategy.auth import PermissionDenied
from strategy.catalogue import Strategy, StrategyError

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)

PLAN = Strategy(channel="letter", offer="instalment_plan", n_instalments=6, rationale="Raten")


def test_a_strategy_survives_a_round_trip_through_its_dict_and_json():
    assert Strategy.from_dict(PLAN.to_dict()) == PLAN
    assert Strategy.from_dict(json.loads(PLAN.canonical_json())) == PLAN


def test_the_content_hash_depends_on_content_only():
    assert PLAN.content_hash() == Strategy.from_dict(dict(reversed(PLAN.to_dict().items()))).content_hash()
    assert PLAN.content_hash() != PLAN.with_changes(n_instalments=7).content_hash()
    assert len(PLAN.content_hash()) == 64


def test_unknown_fields_are_refused_by_name():
    with pytest.raises(StrategyError, match="colour"):
        Strategy.from_dict({**PLAN.to_dict(), "colour": "red"})


def test_every_edit_is_a_new_version_and_old_versions_stay(store, run):
    mapping = store.propose(ANALYST, run, 0, PLAN)
    store.edit(ANALYST, run, 0, PLAN.with_changes(n_instalments=12), expected_version=mapping.version)
    history = store.mapping_history(run.run_id, 0)
    assert [h["strategy"].n_instalments for h in history] == [6, 12]
    assert history[0]["content_hash"] == PLAN.content_hash()


def test_a_draft_is_not_reviewable_until_proposed(store, run):
    draft = store.save_draft(ANALYST, run, 0, PLAN)
    assert draft.state == "draft" and draft.proposed_by is None
    assert "not proposed" in " ".join(draft.approval_blockers(MANAGER))
    proposed = store.propose(ANALYST, run, 0, expected_version=draft.version)
    assert (proposed.state, proposed.strategy) == ("proposed", PLAN)


def test_only_compliance_signs_off_the_model_and_it_is_audited(store, run):
    with pytest.raises(PermissionDenied):
        store.sign_off_model(MANAGER, run)
    store.sign_off_model(COMPLIANCE, run, "SHAP and fairness reviewed")
    assert store.run_info(run.run_id)["model_signed_off_by"] == "carol"
    assert store.audit_entries(action="model_signed_off", run_id=run.run_id)[0].user == "carol"


def test_the_mapping_table_lists_every_persona_of_the_run(store, run):
    store.propose(ANALYST, run, 2, PLAN)
    table = store.mappings_frame(run)
    assert table["persona_id"].tolist() == [0, 1, 2, 3]
    assert table["state"].tolist() == ["none", "none", "proposed", "none"]


def test_audit_entries_filter_by_user_action_and_run(store, run):
    store.propose(ANALYST, run, 0, PLAN)
    store.record_logout(MANAGER)
    assert [e.action for e in store.audit_entries(user="alice")] == ["run_registered", "proposed"]
    assert [e.user for e in store.audit_entries(action="logout")] == ["bob"]
    assert {e.run_id for e in store.audit_entries(run_id=run.run_id)} == {run.run_id}
