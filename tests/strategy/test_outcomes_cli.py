"""`personas outcomes load`, `personas readout` and `personas kpis` from the command line."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from application.cli import main
from runs import open_run
from strategy.catalogue import Strategy
from strategy.experiments import experiments_for_run
from tests.strategy.conftest import ANALYST, MANAGER


def _payments_file(path, account_ids, *, seed=1, german=True):
    rng = np.random.default_rng(seed)
    chosen = rng.choice(account_ids, size=len(account_ids) // 3, replace=False)
    frame = pd.DataFrame({"Kundennummer": chosen,
                          "Buchungsdatum": [f"{d:02d}.12.2026" for d in rng.integers(1, 28, len(chosen))],
                          "Betrag": [f"{v:.2f}".replace(".", ",") for v in rng.uniform(5, 300, len(chosen))]})
    if german:
        frame.to_csv(path, sep=";", index=False, encoding="cp1252")
    else:
        frame.columns = ["account_id", "paid_on", "amount"]
        frame["paid_on"] = pd.to_datetime(frame["paid_on"], format="%d.%m.%Y").dt.strftime("%Y-%m-%d")
        frame["amount"] = frame["amount"].str.replace(",", ".")
        frame.to_csv(path, index=False)
    return path


@pytest.fixture
def approved_experiment(run, store):
    mapping = store.propose(ANALYST, run, 0, Strategy(channel="sms", offer="payment_link", tone="friendly",
                                                      rationale="cheap and read"))
    store.approve(MANAGER, run, 0, expected_version=mapping.version)
    proposed = store.propose_challenger(ANALYST, run, 0, challenger_share=0.3)
    store.approve_challenger(MANAGER, run, 0, expected_version=proposed.version)
    return experiments_for_run(store, run.run_id)[0]


def test_load_then_readout_names_no_winner_below_the_minimum_sample(run, run_dir, store, tmp_path, capsys,
                                                                      approved_experiment):
    file = _payments_file(tmp_path / "zahlungen.csv", run.accounts["account_id"].tolist())
    assert main(["outcomes", "load", str(run_dir), str(file)]) == 0
    out = capsys.readouterr().out
    assert "saved as outcomes/payments-1.parquet (load 1)" in out and "a file already loaded is refused" in out
    assert open_run(run_dir).has("outcomes/payments-1.parquet")

    assert main(["readout", str(run_dir), "--db", store.url, "--cost", "letter=0.85,email=0.01,sms=0.09",
                 "--cost", "phone=1.5,push=0.01,whatsapp=0.02", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    persona = [r for r in data["rows"] if r["persona_id"] == 0]
    assert {r["arm"] for r in persona} == {"champion", "challenger"}
    assert all(r["contact_cost"] is not None and r["contact_cost"] > 0 for r in persona)
    (difference,) = data["differences"]
    needed = approved_experiment.min_sample_per_arm
    assert needed and difference["min_sample_per_arm"] == needed
    assert difference["verdict"] == f"too few accounts ({difference['accounts_a']:,} of {needed:,} needed)"

    assert main(["readout", str(run_dir), "--db", store.url]) == 0
    text = capsys.readouterr().out
    assert "challenger − champion: pay rate" in text and "verdict: too few accounts" in text


def test_the_same_file_twice_is_refused_and_an_english_file_adds_a_load(run, run_dir, tmp_path, capsys):
    ids = run.accounts["account_id"].tolist()
    german = _payments_file(tmp_path / "zahlungen.csv", ids)
    english = _payments_file(tmp_path / "payments.csv", ids, seed=2, german=False)
    assert main(["outcomes", "load", str(run_dir), str(german)]) == 0
    assert main(["outcomes", "load", str(run_dir), str(german)]) == 1
    assert "already as load 1" in capsys.readouterr().err
    assert main(["outcomes", "load", str(run_dir), str(english), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["saved"]["load"] == 2
    assert main(["outcomes", "list", str(run_dir)]) == 0
    listing = capsys.readouterr().out
    assert "load 1: zahlungen.csv" in listing and "load 2: payments.csv" in listing
    open_run(run_dir)


def test_bad_input_is_one_clear_line_without_a_traceback(run_dir, tmp_path, capsys, db_path):
    bad = tmp_path / "kaputt.csv"
    bad.write_text("Konto;Notiz\n1;x\n", encoding="utf-8")
    assert main(["outcomes", "load", str(run_dir), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "kaputt.csv" in err and "Traceback" not in err and "--date-column" in err
    assert main(["readout", str(run_dir), "--db", str(db_path)]) == 1
    assert "no payments loaded" in capsys.readouterr().err
    assert main(["readout", str(run_dir), "--db", str(db_path), "--cost", "letter=cheap"]) == 1
    assert "CHANNEL=EUR" in capsys.readouterr().err


def test_kpis_of_a_single_month(run, run_dir, tmp_path, capsys, db_path):
    assert main(["outcomes", "load", str(run_dir),
                 str(_payments_file(tmp_path / "z.csv", run.accounts["account_id"].tolist()))]) == 0
    capsys.readouterr()
    table = tmp_path / "kpis.csv"
    assert main(["kpis", str(run_dir), "--db", str(db_path), "--csv", str(table)]) == 0
    out = capsys.readouterr().out
    assert "recovery_rate" in out and "promise_kept_rate        not available" in out
    assert set(pd.read_csv(table)["kpi"]) >= {"recovery_rate", "cure_rate", "roll_rate"}
