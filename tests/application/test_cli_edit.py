"""``personas edit`` on a run that keeps its portfolio: no upload needed, and the copy travels on."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from application.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "sample_portfolio.csv"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["run", str(SAMPLE), "--out", str(out), "--no-search", "--max-fit-rows", "1500", "--language", "de"])
    assert code == 0
    return out


def test_a_merge_needs_no_portfolio_file_and_the_new_run_keeps_the_same_copy(sample_run, tmp_path, capsys):
    code = main(["edit", str(sample_run), "--merge", "0", "1", "--user", "alice", "--out", str(tmp_path / "m")])
    assert code == 0, capsys.readouterr().err
    parent = json.loads((sample_run / "run.json").read_text("utf-8"))
    edited = json.loads((tmp_path / "m" / "run.json").read_text("utf-8"))
    assert edited["metrics"]["personas"] < parent["metrics"]["personas"]
    assert edited["portfolio"] == parent["portfolio"]
    assert (tmp_path / "m" / "portfolio.parquet").read_bytes() == (sample_run / "portfolio.parquet").read_bytes()
    assert not {"Vorname", "Nachname", "E-Mail", "IBAN"} & set(parent["portfolio"]["columns"])


def test_a_portfolio_file_that_is_not_the_runs_is_refused(sample_run, tmp_path, capsys):
    other = tmp_path / "other.csv"
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    other.write_bytes(b"".join(lines[:-1]))  # one account fewer (the sample is Latin-1, kept as it is)
    code = main(["edit", str(sample_run), "--merge", "0", "1", "--user", "alice", "--out", str(tmp_path / "m"),
                 "--portfolio", str(other)])
    assert code == 1 and "not the one this run was made from" in capsys.readouterr().err
