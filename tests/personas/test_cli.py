"""``personas run`` and ``personas assign`` on the bundled German sample, without a mapping file."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from application.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "sample_portfolio.csv"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["run", str(SAMPLE), "--out", str(out), "--truth-col", "true_persona", "--no-search",
                 "--max-fit-rows", "1500", "--language", "de"])
    return code, out


def test_run_on_the_bundled_german_sample_writes_the_three_files(sample_run, capsys):
    code, out = sample_run
    assert code == 0
    for name in ("run.json", "accounts.parquet", "personas.json", "edits.json", "manifest.json",
                 "model/persona_model.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "run.json").read_text("utf-8"))
    assert meta["rows"]["used"] == 5000 and meta["rows"]["fitted"] <= 1600
    assert meta["metrics"]["personas"] >= 2 and "truth_ari" in meta["metrics"]
    assert "skipped" in meta["model"]
    accounts = pd.read_parquet(out / "accounts.parquet")
    assert list(accounts.columns[:5]) == ["account_id", "persona_id", "persona_name",
                                          "membership_probability", "needs_review"]
    assert (accounts["persona_id"] >= 0).all()


def test_german_column_names_are_understood_without_a_mapping(sample_run):
    _, out = sample_run
    used = {c["column"] for c in json.loads((out / "run.json").read_text("utf-8"))["columns"]["used"]}
    assert {"balance", "days_past_due"} <= used
    assert "Gebrochene Zahlungszusagen" in used
    assert not {"IBAN", "E-Mail", "Alter", "Geschlecht", "true_persona"} & used


def test_assign_writes_a_csv_with_every_account(sample_run, tmp_path, capsys):
    _, out = sample_run
    target = tmp_path / "assigned.csv"
    assert main(["assign", str(out), str(SAMPLE), "--out", str(target)]) == 0
    assigned = pd.read_csv(target)
    assert len(assigned) == 5000 and (assigned["persona_id"] >= 0).all()
    assert "wrote" in capsys.readouterr().out


def test_a_truth_column_that_does_not_exist_is_one_clear_error(tmp_path, capsys):
    code = main(["run", str(SAMPLE), "--out", str(tmp_path / "x"), "--truth-col", "nope", "--no-search"])
    assert code == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nope" in errors[0] and "Traceback" not in err


def test_assign_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["assign", str(tmp_path), str(SAMPLE), "--out", str(tmp_path / "a.parquet")]) == 1
    assert "not a saved run" in capsys.readouterr().err


def test_edit_writes_a_new_run_with_its_parent_and_leaves_the_original(sample_run, tmp_path, capsys):
    _, out = sample_run
    before = json.loads((out / "personas.json").read_text("utf-8"))
    code = main(["edit", str(out), "--rename", "0", "Vergessliche Zahler", "--user", "alice",
                 "--out", str(tmp_path / "renamed")])
    assert code == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "renamed" / "run.json").read_text("utf-8"))
    parent = json.loads((out / "run.json").read_text("utf-8"))
    assert meta["parent_run_id"] == parent["run_id"] != meta["run_id"]
    assert meta["created_by"] == "alice" and meta["edits"] == 1
    assert json.loads((tmp_path / "renamed" / "personas.json").read_text("utf-8"))[0]["name"] == "Vergessliche Zahler"
    assert json.loads((out / "personas.json").read_text("utf-8")) == before


def test_edit_that_recomputes_profiles_uses_the_runs_own_portfolio(sample_run, tmp_path, capsys):
    _, out = sample_run
    code = main(["edit", str(out), "--merge", "0", "1", "--user", "alice", "--out", str(tmp_path / "m")])
    assert code == 0, capsys.readouterr().err  # the run keeps its portfolio: no --portfolio needed
    assert json.loads((tmp_path / "m" / "run.json").read_text("utf-8"))["metrics"]["personas"] < \
        json.loads((out / "run.json").read_text("utf-8"))["metrics"]["personas"]
    other = tmp_path / "other.csv"
    other.write_bytes(SAMPLE.read_bytes().replace(b"\n", b"\r\n", 3))  # same rows, different file
    code = main(["edit", str(out), "--merge", "0", "1", "--user", "alice", "--out", str(tmp_path / "m2"),
                 "--portfolio", str(other)])
    assert code != 0 and "portfolio" in capsys.readouterr().err.casefold()
    assert not (tmp_path / "m2").exists()


def test_run_refuses_an_existing_output_folder_before_any_work(sample_run, capsys):
    _, out = sample_run
    code = main(["run", str(SAMPLE), "--out", str(out)])
    assert code == 1 and "exists already" in capsys.readouterr().err
