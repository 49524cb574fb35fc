"""Saved runs: hash-checked loading, and analyst edits that survive assign to a new portfolio."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from persona_helpers import generated_portfolio
from personas import edits
from application.pipeline import apply_edit, assign_portfolio, load_run
from core.errors import UserError


@pytest.fixture()
def run_copy(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


@pytest.fixture(scope="module")
def next_month():
    return generated_portfolio(1200, seed=99)


def test_a_saved_model_whose_file_was_altered_is_refused(run_copy, train_portfolio):
    reference = run_copy / "model" / "reference.npz"
    data = bytearray(reference.read_bytes())
    data[-10] ^= 0xFF
    reference.write_bytes(bytes(data))
    with pytest.raises(UserError, match="changed since the run was saved"):
        load_run(run_copy)
    with pytest.raises(UserError, match="reference.npz"):
        assign_portfolio(run_copy, train_portfolio)


def test_a_missing_manifest_is_refused(run_copy):
    (run_copy / "manifest.json").unlink()
    with pytest.raises(UserError, match="not a saved run"):
        load_run(run_copy)


def test_a_merge_and_a_rename_survive_assign_to_a_new_portfolio(run_copy, train_portfolio, next_month, tmp_path):
    before = assign_portfolio(run_copy, next_month)
    result = load_run(run_copy)
    result = apply_edit(result, edits.merge([0, 1], user="ana"), train_portfolio)
    result = apply_edit(result, edits.rename(2, "Quiet mid-balance payers", user="ana"), train_portfolio)
    assert 1 not in set(result.accounts["persona_id"])
    edited_dir = result.save(tmp_path / "edited")
    after = assign_portfolio(edited_dir, next_month)
    assert 1 not in set(after["persona_id"])
    was_merged = before["persona_id"].isin([0, 1]).to_numpy()
    assert np.mean(after["persona_id"].to_numpy()[was_merged] == 0) >= 0.98
    untouched = ~was_merged
    assert np.mean(after["persona_id"].to_numpy()[untouched] == before["persona_id"].to_numpy()[untouched]) >= 0.98
    assert set(after.loc[after["persona_id"] == 2, "persona_name"]) <= {"Quiet mid-balance payers"}
    recorded = load_run(edited_dir).edits
    assert [e["action"] for e in recorded] == ["merge", "rename"]
    assert all(e["user"] == "ana" and e["at"].endswith("Z") for e in recorded)


def test_a_split_adds_a_persona_that_assign_keeps(run_copy, train_portfolio, next_month, tmp_path):
    result = load_run(run_copy)
    largest = int(result.accounts["persona_id"].value_counts().idxmax())
    n_before = result.meta["metrics"]["personas"]
    result = apply_edit(result, edits.split(largest, parts=2), train_portfolio)
    new_id = result.edits[-1]["new_ids"][0]
    assert result.meta["metrics"]["personas"] == n_before + 1
    assert new_id in set(result.accounts["persona_id"])
    after = assign_portfolio(result.save(tmp_path / "split"), next_month)
    assert new_id in set(after["persona_id"])


def test_reduce_merges_the_most_similar_personas_down_to_n(run_copy, train_portfolio):
    result = load_run(run_copy)
    result = apply_edit(result, edits.reduce(3), train_portfolio)
    assert result.accounts["persona_id"].nunique() == 3
    assert len(result.edits[-1]["merges"]) == result.model.metrics_["personas"] - 3
    assert len({p["name"] for p in result.profiles}) == 3


def test_an_edit_naming_an_unknown_persona_is_refused(run_copy, train_portfolio):
    result = load_run(run_copy)
    with pytest.raises(UserError, match="does not exist"):
        apply_edit(result, edits.merge([0, 97]), train_portfolio)


def test_two_edits_of_one_run_are_two_runs_and_never_overwrite_each_other(run_copy, tmp_path):
    base = load_run(run_copy)
    first = apply_edit(base, edits.rename(0, "Named by Ana", user="ana"))
    second = apply_edit(base, edits.rename(0, "Named by Bob", user="bob"))
    assert len({base.run_id, first.run_id, second.run_id}) == 3
    assert first.parent_run_id == second.parent_run_id == base.run_id
    root = tmp_path / "runs"
    for edited in (first, second):
        edited.save(root / edited.run_id, created_by=edited.edits[-1]["user"])
    names = {load_run(root / r.run_id).profile(0)["name"] for r in (first, second)}
    assert names == {"Named by Ana", "Named by Bob"}
    assert load_run(root / second.run_id).meta["created_by"] == "bob"
    with pytest.raises(UserError, match="exists already"):
        second.save(root / first.run_id)
    assert load_run(root / first.run_id).profile(0)["name"] == "Named by Ana"
