"""Saved runs: hash-checked loading, and analyst edits that survive assign to a new portfolio."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
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


# ---------------------------------------------------------------------------- the run's portfolio
def test_a_new_run_keeps_its_portfolio_without_direct_identifiers(run_dir, train_portfolio):
    from strategy.run_view import load_run_view

    view = load_run_view(run_dir)
    kept, loaded = view.portfolio, train_portfolio.frame
    identifiers = {"first_name", "last_name", "email", "phone", "iban", "street"}
    assert identifiers <= set(loaded.columns) and not identifiers & set(kept.columns)
    assert list(kept["account_id"]) == list(view.accounts["account_id"]) == list(loaded["account_id"].astype(str))
    shared = [c for c in loaded.columns if c in kept.columns]
    assert set(shared) == set(kept.columns) == set(loaded.columns) - identifiers
    pd.testing.assert_frame_equal(kept[shared].drop(columns="account_id"), loaded[shared].drop(columns="account_id"),
                                  check_dtype=False)
    section = view.meta["portfolio"]
    assert {item["column"] for item in section["left_out"]} == identifiers
    assert all("direct identifier" in item["reason"] for item in section["left_out"])
    assert section["data_sha256"] == view.meta["data_sha256"] == train_portfolio.sha256
    assert view.meanings.column_for("dispute") == "dispute_flag"


def test_the_run_accepts_its_own_portfolio_and_refuses_another(run_dir, train_portfolio, next_month):
    from strategy.run_view import check_portfolio_matches, load_run_view

    view = load_run_view(run_dir)
    check_portfolio_matches(view, train_portfolio)
    check_portfolio_matches(view, train_portfolio.frame)
    with pytest.raises(UserError, match="is not the portfolio run"):
        check_portfolio_matches(view, next_month)


def test_an_edit_works_on_the_kept_portfolio_and_carries_it_over(run_copy, train_portfolio, tmp_path):
    from strategy.run_view import load_run_view

    base = load_run(run_copy)
    without_file = apply_edit(base, edits.merge([0, 1], user="ana"))
    with_file = apply_edit(base, edits.merge([0, 1], user="ana"), train_portfolio)
    pd.testing.assert_frame_equal(without_file.accounts, with_file.accounts)
    assert without_file.profiles == with_file.profiles
    renamed = apply_edit(without_file, edits.rename(0, "Merged", user="ana"))
    edited = load_run_view(renamed.save(tmp_path / "edited"))
    assert edited.meta["portfolio"]["sha256"] == base.meta["portfolio"]["sha256"]
    pd.testing.assert_frame_equal(edited.portfolio, load_run_view(run_copy).portfolio)


def test_a_run_without_a_kept_portfolio_still_loads_and_asks_for_the_file(run_copy, train_portfolio, tmp_path):
    import dataclasses

    old = dataclasses.replace(load_run(run_copy), portfolio=None)
    saved = apply_edit(old, edits.rename(0, "Old style", user="ana")).save(tmp_path / "old")
    reloaded = load_run(saved)
    assert reloaded.portfolio is None and "portfolio" not in reloaded.meta
    with pytest.raises(UserError, match="needs the run's portfolio"):
        apply_edit(reloaded, edits.merge([0, 1], user="ana"))
    assert apply_edit(reloaded, edits.merge([0, 1], user="ana"), train_portfolio).portfolio is None


def test_an_altered_portfolio_copy_refuses_the_run(run_copy):
    path = run_copy / "portfolio.parquet"
    frame = pd.read_parquet(path)
    frame.loc[frame["dispute_flag"] == 1, "dispute_flag"] = 0  # someone clears the disputes
    frame.to_parquet(path, index=False)
    with pytest.raises(UserError, match="portfolio.parquet: changed since the run was saved"):
        load_run(run_copy)
