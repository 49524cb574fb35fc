"""Assigning on Dask (a local cluster of two worker processes) equals the single-process assign row for row."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from application.dask_assign import assign_partitioned, run_fingerprint
from application.pipeline import assign_portfolio, load_run, run_pipeline
from explain.settings import RiskSettings
from personas.settings import RunSettings
from core.errors import UserError
from portfolio.load import load_portfolio
from sample_data.generator import generate_portfolio, write_portfolio

pytestmark = pytest.mark.slow  # a run (UMAP) and local Dask clusters: ~30-60 s


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A saved run with personas and a risk model, fitted on 1,500 generated accounts in the second
    process, its stored SHAP table a sample of 300 (tests/scale/test_every_account_explained.py reads it too)."""
    portfolio = load_portfolio(generate_portfolio(1_500, seed=3))
    settings = RunSettings(target="paid_90d", seed=3, max_fit_rows=1_500, parallel_risk_min_rows=0).with_discovery(
        search=False, display_rows=300, n_epochs=100)
    result = run_pipeline(portfolio, settings, risk_settings=RiskSettings(shap_max_rows=300))
    return result.save(tmp_path_factory.mktemp("runs") / "run")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """Next month's book of 4,500 accounts as a folder of three Parquet files, and as one file."""
    frame = generate_portfolio(4_500, seed=21)
    folder = tmp_path_factory.mktemp("book")
    parts = folder / "parts"
    parts.mkdir()
    for k, start in enumerate(range(0, len(frame), 1_500)):
        write_portfolio(frame.iloc[start:start + 1_500].reset_index(drop=True), parts / f"book-{k}.parquet")
    whole = write_portfolio(frame, folder / "book.parquet")
    return parts, whole


@pytest.fixture(scope="module")
def cluster_address():
    """One local cluster of two worker processes for the module's tests that need processes (starting
    one costs ~10 s of worker imports; the workers keep the loaded run between tests). The path that
    starts its own cluster (``scheduler=None``) is covered by the glob test below."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           scheduler_port=0)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _single_process(run_dir, path) -> pd.DataFrame:
    portfolio = load_portfolio(path)
    assigned = assign_portfolio(run_dir, portfolio)
    scores = load_run(run_dir).risk.score(portfolio.frame)
    assigned["risk_score"] = scores["risk_score"].to_numpy()
    assigned["reasons"] = scores["reasons"].to_numpy()
    return assigned


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("account_id", ignore_index=True)


def test_dask_assign_on_two_workers_equals_the_single_process_assign_row_for_row(run_dir, book, tmp_path,
                                                                               cluster_address):
    parts, whole = book
    summary = assign_partitioned(run_dir, parts, tmp_path / "out", scheduler=cluster_address, score=True)
    assert summary["partitions"] >= 3 and summary["rows"] == 4_500 and summary["scored"]
    distributed_result = _sorted(pd.read_parquet(tmp_path / "out"))
    single = _sorted(_single_process(run_dir, whole))
    assert list(distributed_result.columns) == list(single.columns)
    pd.testing.assert_frame_equal(distributed_result, single, check_exact=True, check_dtype=False)
    assert (distributed_result["reasons"] != "").all()


def test_a_glob_of_parquet_files_is_accepted_and_the_summary_is_written(run_dir, book, tmp_path):
    parts, _ = book
    summary = assign_partitioned(run_dir, str(parts / "book-*.parquet"), tmp_path / "out", score=False,
                                 processes=False)
    written = json.loads((tmp_path / "out" / "_assign.json").read_text())
    assert written["rows"] == summary["rows"] == 4_500
    assert "risk_score" not in pd.read_parquet(tmp_path / "out").columns


def test_an_altered_model_file_is_refused_before_any_partition_runs(run_dir, book, tmp_path):
    import shutil

    copy = shutil.copytree(run_dir, tmp_path / "run")
    reference = copy / "model" / "reference.npz"
    reference.write_bytes(reference.read_bytes() + b"tampered")
    with pytest.raises(UserError, match="changed"):
        assign_partitioned(copy, book[0], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_fingerprint_changes_when_the_run_is_saved_again(run_dir, tmp_path):
    from application.pipeline import apply_edit, load_run
    from personas import edits

    before = run_fingerprint(run_dir)
    renamed = apply_edit(load_run(run_dir), edits.rename(0, "Renamed", user="ana"))
    assert run_fingerprint(renamed.save(tmp_path / "renamed")) != before
    manifest = json.loads((tmp_path / "renamed" / "manifest.json").read_text())
    manifest["body"]["files"]["edits.json"] = "0" * 64
    (tmp_path / "renamed" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="signature"):
        run_fingerprint(tmp_path / "renamed")


def test_the_assign_command_with_scheduler_writes_parquet_parts(run_dir, book, tmp_path, capsys, cluster_address):
    from application.cli import main

    parts, _ = book
    code = main(["assign", str(run_dir), str(parts), "--scheduler", cluster_address, "--out", str(tmp_path / "out")])
    assert code == 0
    assert "4,500 accounts assigned with risk scores and reasons" in capsys.readouterr().out
    written = pd.read_parquet(tmp_path / "out")
    assert len(written) == 4_500 and {"persona_id", "risk_score", "reasons"} <= set(written.columns)


# ---------------------------------------------------------------------------- every account explained
# Issue 16: every account of a run has reasons, also when the risk model is fitted in the second
# process and the stored SHAP table is a sample (300 of 1,500 here); waterfalls outside it come from
# the run folder's own portfolio copy. These read the module's run (one run, not two).
def test_every_account_in_accounts_parquet_has_reasons(run_dir):
    accounts = pd.read_parquet(run_dir / "accounts.parquet")
    assert len(accounts) == 1_500
    assert accounts["reasons"].notna().all() and accounts["reasons"].str.len().gt(0).all()
    assert not accounts["reasons"].str.contains("not explained").any()
    meta = json.loads((run_dir / "run.json").read_text("utf-8"))["model"]
    assert meta["computed_in"] == "child process"
    assert meta["shap"]["accounts_with_reasons"] == 1_500 and meta["shap"]["accounts_explained"] == 300
    assert meta["shap"]["max_additivity_error"] <= 1e-6
    assert "every one of the 1,500 accounts" in (run_dir / "model_card.md").read_text("utf-8")


def test_a_waterfall_outside_the_stored_table_is_explained_from_the_run_folder(run_dir):
    loaded = load_run(run_dir).risk
    outside = loaded.scores.loc[~loaded.scores["account_id"].isin(loaded.shap.values.index), "account_id"].iloc[0]
    assert loaded.has_account(outside)
    data = loaded.waterfall(outside)
    assert data["base_value"] + data["contributions"]["contribution"].sum() == pytest.approx(data["log_odds"])
    assert data["reasons"] == loaded.scores.set_index("account_id").loc[outside, "reasons"]
    top = data["contributions"]["label"].head(3).tolist()
    assert [reason.startswith(label) for reason, label in zip(data["reasons"].split("; "), top)] == [True] * 3
    assert not loaded.has_account("no such account")
