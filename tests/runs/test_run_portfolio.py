"""A run keeps its portfolio: read verified, refused when altered, and other portfolios refused."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.errors import UserError
from portfolio.meanings import Meaning
from runs import PORTFOLIO, RunFolderError, new_run_id, open_run
from runs.folder import MANIFEST
from strategy.run_view import check_portfolio_matches, load_run_view
from tests.run_factory import save_fabricated_run

PROFILES = [{"persona_id": 0, "name": "Forgetful payers", "size": 3, "share_accounts": 0.6, "share_balance": 0.5},
            {"persona_id": 1, "name": "Over-indebted", "size": 2, "share_accounts": 0.4, "share_balance": 0.5}]


def _accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["a1", "a2", "a3", "a4", "a5"], "persona_id": [0, 0, 0, 1, 1]})


def _portfolio() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["a1", "a2", "a3", "a4", "a5"],
                         "balance": [120.0, 80.5, 990.0, 45.0, 3000.0],
                         "days_past_due": [30.0, 12.0, 400.0, 90.0, 1200.0],
                         "Einwand erhoben": ["N", "N", "J", "N", "N"],
                         "Überschuldet": ["N", "N", "N", "J", "J"]})


@pytest.fixture
def kept_run(tmp_path) -> Path:
    return save_fabricated_run(tmp_path / "with", new_run_id(), PROFILES, _accounts(), portfolio=_portfolio()).path


def test_a_run_that_keeps_its_portfolio_gives_it_back_with_its_column_model(kept_run):
    view = load_run_view(kept_run)
    assert view.has_portfolio
    pd.testing.assert_frame_equal(view.portfolio, _portfolio())
    assert view.meanings.column_for(Meaning.DISPUTE) == "Einwand erhoben"
    assert view.meanings.column_for(Meaning.OVER_INDEBTED) == "Überschuldet"
    assert view.meta["portfolio"]["sha256"] == open_run(kept_run).files[PORTFOLIO]


def test_a_run_saved_without_a_portfolio_stays_readable(tmp_path):
    view = load_run_view(save_fabricated_run(tmp_path / "old", new_run_id(), PROFILES, _accounts()).path)
    assert view.portfolio is None and not view.has_portfolio
    assert not view.meanings  # no column model recorded, nothing to read it from
    assert list(view.accounts["account_id"]) == ["a1", "a2", "a3", "a4", "a5"]


def test_an_altered_portfolio_copy_is_refused(kept_run):
    altered = _portfolio().assign(**{"Einwand erhoben": "N"})  # someone clears the dispute flags
    altered.to_parquet(kept_run / PORTFOLIO, index=False)
    with pytest.raises(RunFolderError, match="changed since the run was saved"):
        load_run_view(kept_run)


def test_a_portfolio_copy_that_run_json_does_not_record_is_refused(kept_run):
    """Even with a valid signature: run.json and the manifest must agree about the copy."""
    from runs import signing
    from runs.folder import _canonical

    from core.hashing import sha256_file

    meta = json.loads((kept_run / "run.json").read_text())
    meta["portfolio"]["sha256"] = "0" * 64
    (kept_run / "run.json").write_text(json.dumps(meta))
    manifest = json.loads((kept_run / MANIFEST).read_text())
    body = manifest["body"]
    body["files"]["run.json"] = sha256_file(kept_run / "run.json")
    manifest["signature"] = signing.sign(_canonical(body))  # the app's own key: only the mismatch is left
    (kept_run / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RunFolderError, match="not the portfolio run.json records"):
        open_run(kept_run)


def test_the_file_the_run_was_made_from_matches_and_another_is_refused(tmp_path):
    source = tmp_path / "portfolio.csv"
    _portfolio().to_csv(source, index=False)
    from core.hashing import sha256_file

    run = load_run_view(save_fabricated_run(tmp_path / "r", new_run_id(), PROFILES, _accounts(),
                                            portfolio=_portfolio(), data_sha256=sha256_file(source),
                                            source_name="portfolio.csv").path)
    check_portfolio_matches(run, source)
    check_portfolio_matches(run, str(source))
    other = tmp_path / "next_month.csv"
    _portfolio().assign(balance=1.0).to_csv(other, index=False)
    with pytest.raises(UserError, match=r"next_month.csv is not the portfolio run .* was made from.*portfolio.csv"):
        check_portfolio_matches(run, other)
    with pytest.raises(UserError, match="no such file"):
        check_portfolio_matches(run, tmp_path / "missing.csv")


def test_a_loaded_portfolio_is_compared_by_its_data_hash(kept_run):
    run = load_run_view(kept_run)

    class Loaded:
        sha256, source_name, frame = "ab" * 32, "sample.csv", _portfolio()

    check_portfolio_matches(run, Loaded())
    Loaded.sha256 = "cd" * 32
    with pytest.raises(UserError, match="sample.csv is not the portfolio run"):
        check_portfolio_matches(run, Loaded())


def test_a_table_of_accounts_must_equal_the_kept_copy(kept_run):
    run = load_run_view(kept_run)
    check_portfolio_matches(run, _portfolio())
    check_portfolio_matches(run, _portfolio().assign(balance=lambda f: f["balance"].astype("float32").astype(float)))
    with pytest.raises(UserError, match="values of column 'Einwand erhoben' differ"):
        check_portfolio_matches(run, _portfolio().assign(**{"Einwand erhoben": "N"}))
    with pytest.raises(UserError, match="accounts"):
        check_portfolio_matches(run, _portfolio().iloc[::-1])
    with pytest.raises(UserError, match="lacks the column"):
        check_portfolio_matches(run, _portfolio().drop(columns=["Überschuldet"]))
