"""Payments kept in the run folder (strategy/outcomes.py): every load kept, none counted twice."""
from __future__ import annotations

import pandas as pd
import pytest

from core.errors import UserError
from portfolio.payments import load_payments
from runs import new_run_id, open_run
from strategy.outcomes import load_notes, read_outcomes, save_outcomes, save_outcomes_report
from strategy.run_view import load_run_view
from tests.run_factory import save_fabricated_run

PROFILES = [{"persona_id": 0, "name": "Forgetful payers", "size": 3, "share_accounts": 1.0, "share_balance": 1.0}]


@pytest.fixture
def run_dir(tmp_path):
    accounts = pd.DataFrame({"account_id": ["K1", "K2", "K3"], "persona_id": [0, 0, 0]})
    return save_fabricated_run(tmp_path / "runs" / "r", new_run_id(), PROFILES, accounts).path


def _payments(text: str, name: str = "zahlungen.csv"):
    return load_payments(("Kontonummer;Buchungsdatum;Betrag\n" + text).encode("cp1252"), filename=name)


def test_a_load_is_kept_in_the_run_and_read_back_verified(run_dir):
    path = save_outcomes(run_dir, _payments("K1;01.12.2026;10,00\nK2;02.12.2026;-5,00\n"))
    assert path == run_dir / "outcomes" / "payments-1.parquet"
    frame = read_outcomes(load_run_view(run_dir))
    assert frame["account_id"].tolist() == ["K1", "K2"] and frame["amount"].tolist() == [10.0, -5.0]
    assert frame["load"].tolist() == [1, 1] and str(frame["paid_on"].dtype) == "datetime64[ns]"
    assert open_run(run_dir).has("outcomes/payments-1.json")


def test_a_run_without_loads_has_no_outcomes(run_dir):
    assert read_outcomes(open_run(run_dir)) is None and load_notes(run_dir) == []


def test_every_load_is_kept_and_the_same_file_is_refused(run_dir):
    first = _payments("K1;01.12.2026;10,00\n")
    save_outcomes(run_dir, first)
    save_outcomes(run_dir, _payments("K2;05.12.2026;20,00\n", name="zahlungen-2.csv"))
    with pytest.raises(UserError, match="was loaded into run .* already as load 1"):
        save_outcomes(run_dir, first)
    assert [n["file"] for n in load_notes(run_dir)] == ["zahlungen.csv", "zahlungen-2.csv"]
    assert read_outcomes(run_dir)["amount"].sum() == 30.0


def test_an_overlapping_export_does_not_count_a_payment_twice(run_dir):
    save_outcomes(run_dir, _payments("K1;01.12.2026;10,00\nK1;01.12.2026;10,00\n"))
    saved = save_outcomes_report(run_dir, _payments("K1;01.12.2026;10,00\nK1;01.12.2026;10,00\n"
                                                    "K1;01.12.2026;10,00\nK3;03.12.2026;7,00\n", name="dez.csv"))
    assert saved.note["rows"]["repeated_earlier_loads"] == 2 and saved.note["rows"]["saved"] == 2
    assert any("exports overlap" in line for line in saved.lines())
    assert read_outcomes(run_dir)["amount"].sum() == 37.0


def test_payments_for_other_accounts_are_kept_but_named(run_dir):
    saved = save_outcomes_report(run_dir, _payments("K1;01.12.2026;10,00\nZ9;01.12.2026;4,00\n"))
    assert saved.note["payments_not_in_run"] == 1 and saved.note["examples_not_in_run"] == ["Z9"]
    with pytest.raises(UserError, match="none of its 1 account ids .* wrong run or wrong file"):
        save_outcomes(run_dir, _payments("Z8;01.12.2026;4,00\n", name="other.csv"))
