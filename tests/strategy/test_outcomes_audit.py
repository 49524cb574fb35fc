"""Loading payments is on the audit trail: which file (name, SHA-256), which load, by whom."""
from __future__ import annotations

import pandas as pd

from application.cli import main
from strategy.outcomes import keep_payments, read_outcomes
from tests.strategy.conftest import ANALYST

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)


def _payments(run) -> bytes:
    ids = run.accounts["account_id"].astype(str).head(40)
    frame = pd.DataFrame({"Kundennummer": ids, "Buchungsdatum": "15.11.2026", "Betrag": "12,50"})
    return frame.to_csv(sep=";", index=False).encode("cp1252")


def test_keep_payments_keeps_the_file_and_records_who_loaded_it(run, store):
    saved = keep_payments(run, _payments(run), filename="zahlungen.csv", store=store, actor=ANALYST)
    assert saved.load == 1 and len(read_outcomes(run.run_dir)) == 40
    (entry,) = store.audit_entries(action="outcomes_loaded")
    assert entry.user == ANALYST.username and entry.run_id == run.run_id
    assert entry.details["file"] == "zahlungen.csv" and entry.details["payments_saved"] == 40
    assert entry.content_hash == saved.note["sha256"]
    assert store.verify_audit().ok


def test_cli_load_is_recorded_as_the_operator(run, run_dir, store, tmp_path):
    path = tmp_path / "zahlungen.csv"
    path.write_bytes(_payments(run))
    assert main(["outcomes", "load", str(run_dir), str(path), "--db", store.url]) == 0
    (entry,) = store.audit_entries(action="outcomes_loaded")
    assert entry.role == "operator" and entry.details["load"] == 1
