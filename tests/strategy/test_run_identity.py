"""Approvals bind a run's identity and its account assignment; edits are runs of their own."""
from __future__ import annotations

import pytest

from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER, write_run
from runs import new_run_id
from strategy.proposals import propose_strategies
from strategy.export import ExportRefused, export_mappings
from strategy.run_view import load_run_view
from tests.run_factory import save_fabricated_run

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)


def _approve(store, run, persona_ids, portfolio):
    for proposal in propose_strategies(run.profiles, run.accounts, portfolio):
        if proposal.persona_id in persona_ids:
            mapping = store.propose(ANALYST, run, proposal.persona_id, proposal.strategy,
                                    evidence=proposal.evidence)
            store.approve(MANAGER, run, proposal.persona_id, expected_version=mapping.version,
                          portfolio=portfolio)
    store.sign_off_model(COMPLIANCE, run, "checked")


def test_moving_accounts_between_personas_after_approval_refuses_the_export(store, run, portfolio_frame,
                                                                            tmp_path):
    """The attack of the review: every account moved into the one approved persona, same profiles."""
    _approve(store, run, run.persona_ids, portfolio_frame)
    moved = run.accounts.assign(persona_id=0)
    resaved = save_fabricated_run(tmp_path / "moved", run.run_id, run.profiles, moved)
    with pytest.raises(ExportRefused, match="accounts assigned to it changed since approval") as refused:
        export_mappings(store, resaved.path, MANAGER, fmt="csv", level="accounts", out=tmp_path / "x.csv",
                        portfolio=portfolio_frame)
    assert len(refused.value.lines) >= len(run.persona_ids)
    assert not (tmp_path / "x.csv").exists()


def test_an_approval_records_the_assignment_it_saw(store, run, portfolio_frame):
    _approve(store, run, [0], portfolio_frame)
    entry = store.audit_entries(action="approved")[0]
    assert entry.details["assignment_sha256"] == run.assignment_fingerprint()


def test_an_edited_run_has_its_own_approvals(store, run, portfolio_frame, tmp_path):
    edited = load_run_view(save_fabricated_run(tmp_path / "edit", new_run_id(), run.profiles, run.accounts,
                                               parent_run_id=run.run_id, created_by="alice").path)
    assert edited.run_id != run.run_id and edited.parent_run_id == run.run_id
    _approve(store, edited, edited.persona_ids, portfolio_frame)
    with pytest.raises(ExportRefused):  # the base run has no approvals: refused, and voids nothing
        export_mappings(store, run.run_dir, MANAGER, fmt="json", out=tmp_path / "base.json")
    assert all(m.state == "approved" for m in store.list_mappings(edited, portfolio_frame))
    assert not store.list_mappings(run, portfolio_frame) or all(
        m.state != "approved" for m in store.list_mappings(run, portfolio_frame))
    result = export_mappings(store, edited.run_dir, MANAGER, fmt="json", out=tmp_path / "edit.json")
    assert result.run_id == edited.run_id


def test_two_runs_never_share_an_id(tmp_path, portfolio_frame):
    ids = {load_run_view(write_run(tmp_path / f"r{i}", portfolio_frame, run_id=new_run_id())).run_id
           for i in range(20)}
    assert len(ids) == 20
