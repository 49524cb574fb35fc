"""The generator's second month (same accounts a month later) and payments with a planted challenger effect."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from application.cli import main
from core.errors import UserError
from sample_data.generator import GERMAN_COLUMNS, PERSONA_SHARES, PERSONAS, generate_portfolio
from sample_data.monthly import (AMOUNT_FACTOR, next_month, pay_probabilities, payment_truth, payments,
                                 read_generated, write_payments)


@pytest.fixture(scope="module")
def month1():
    return generate_portfolio(3000, seed=11)


def test_the_shares_option_leaves_existing_seeds_unchanged():
    pd.testing.assert_frame_equal(generate_portfolio(300, 4), generate_portfolio(300, 4, shares=PERSONA_SHARES))


def test_next_month_rolls_the_same_accounts_and_adds_new_ones(month1):
    month2 = next_month(month1, 11)
    assert list(month2.columns) == list(month1.columns)
    assert month2["account_id"].is_unique
    old = month2[month2["account_id"].isin(month1["account_id"])].set_index("account_id")
    before = month1.set_index("account_id").loc[old.index]
    assert 0.6 < len(old) / len(month1) < 0.95  # some paid and left
    assert ((old["days_past_due"] - before["days_past_due"]).between(28, 32)
            | (old["days_past_due"] == 3650)).all()
    assert (old["months_on_book"] == before["months_on_book"] + 1).all()
    assert (old["balance"] <= before["balance"]).all() and (old["sms_attempts"] >= before["sms_attempts"]).all()
    assert (old[["first_name", "iban"]] == before[["first_name", "iban"]]).all().all()  # same people
    paid_left = ~month1.loc[month1["paid_90d"] == 1, "account_id"].isin(month2["account_id"])
    other_left = ~month1.loc[month1["paid_90d"] == 0, "account_id"].isin(month2["account_id"])
    assert paid_left.mean() > 0.4 > 0.15 > other_left.mean()
    new_ids = month2.loc[~month2["account_id"].isin(month1["account_id"]), "account_id"]
    assert len(new_ids) and new_ids.min() > month1["account_id"].max()
    shares = month2["true_persona"].value_counts(normalize=True)
    assert all(abs(shares[p] - s) < 0.03 for p, s in zip(PERSONAS, PERSONA_SHARES))  # a steady book
    pd.testing.assert_frame_equal(month2, next_month(month1, 11))  # seeded


def test_shift_moves_one_archetypes_share(month1):
    for share in (0.30, 0.05):
        month2 = next_month(month1, 11, shift={"over_indebted": share})
        assert month2["true_persona"].eq("over_indebted").mean() == pytest.approx(share, abs=0.002)
        assert month2["account_id"].is_unique


def test_next_month_of_a_german_file_on_disk_stays_german(tmp_path):
    path = tmp_path / "m1.csv"
    assert main(["sample", "--rows", "800", "--seed", "2", "--language", "de", "--out", str(path)]) == 0
    out = tmp_path / "m2.csv"
    assert main(["sample", "--base", str(path), "--out", str(out), "--seed", "2",
                 "--shift", "disputing=0.2"]) == 0
    month2 = read_generated(out)
    assert GERMAN_COLUMNS["days_past_due"] in month2.columns
    assert month2["true_persona"].eq("disputing").mean() == pytest.approx(0.2, abs=0.003)
    assert out.read_bytes()[:60].count(b";") > 3


@pytest.mark.parametrize("argv, message", [
    (["--shift", "nobody=0.2"], "unknown archetype"),
    (["--shift", "disputing=1.5"], "below 1"),
    (["--shift", "disputing"], "ARCHETYPE=SHARE"),
    (["--month", "1"], "month"),
])
def test_bad_next_month_options_are_one_line(tmp_path, month1, capsys, argv, message):
    base = tmp_path / "m1.parquet"
    month1.to_parquet(base)
    code = main(["sample", "--base", str(base), "--out", str(tmp_path / "m2.csv"), *argv])
    err = capsys.readouterr().err
    assert code in (1, 2) and message in err and "Traceback" not in err
    assert not (tmp_path / "m2.csv").exists()


def test_a_base_not_written_by_the_generator_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    pd.DataFrame({"account_id": ["1"], "balance": [1.0]}).to_csv(path, index=False)
    with pytest.raises(UserError, match="true_persona"):
        read_generated(path)


# ---------------------------------------------------------------------------- payments
def _export(portfolio: pd.DataFrame, challenger_share: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """An account-level export as H-B1's arms write it: persona = the generator's archetype here."""
    rng = np.random.default_rng(seed)
    u = rng.random(len(portfolio))
    arm = np.where(u < 0.1, "holdout", np.where(u < 0.1 + challenger_share, "challenger", "champion"))
    persona = portfolio["true_persona"].map({p: i for i, p in enumerate(PERSONAS)})
    return pd.DataFrame({"account_id": portfolio["account_id"], "persona_id": persona, "arm": arm})


def test_the_planted_effect_is_in_the_payments_and_in_the_truth():
    portfolio = generate_portfolio(20_000, seed=5)
    export = _export(portfolio)
    truth = payment_truth(portfolio, export, effect=0.10)
    by_persona = {row["persona_id"]: row for row in truth["personas"]}
    planted = PERSONAS.index("temporarily_strained")
    probs = pay_probabilities(portfolio, effect=0.10)
    expected = (probs["p_challenger"] - probs["p_champion"])[portfolio["true_persona"] == "temporarily_strained"].mean()
    assert by_persona[planted]["pay_rate_difference"] == pytest.approx(expected)
    assert 0.09 < by_persona[planted]["pay_rate_difference"] <= 0.10  # clipped at 1 for a few accounts
    assert all(row["pay_rate_difference"] == 0 for pid, row in by_persona.items() if pid != planted)

    paid = payments(portfolio, export, seed=1, effect=0.10)
    assert paid["account_id"].is_unique and (paid["amount"] > 0).all()
    balance = portfolio.set_index("account_id")["balance"]
    assert (paid["amount"] <= balance.loc[paid["account_id"]].to_numpy() + 1e-9).all()
    rate = export.assign(paid=export["account_id"].isin(paid["account_id"])) \
        .groupby(["persona_id", "arm"])["paid"].mean().unstack()
    observed = rate.loc[planted, "challenger"] - rate.loc[planted, "champion"]
    assert observed == pytest.approx(by_persona[planted]["pay_rate_difference"], abs=0.035)
    other = PERSONAS.index("forgetful_payer")
    assert abs(rate.loc[other, "challenger"] - rate.loc[other, "champion"]) < 0.035
    assert rate.loc[other, "holdout"] < rate.loc[other, "champion"]
    row = by_persona[planted]
    assert row["amount_difference_per_account"] == pytest.approx(
        ((probs["p_challenger"] - probs["p_champion"]) * AMOUNT_FACTOR * probs["balance"])
        [portfolio["true_persona"] == "temporarily_strained"].mean())


def test_sample_payments_command_writes_german_payments_and_the_truth(tmp_path, capsys):
    portfolio = generate_portfolio(2000, seed=8, language="de")
    path = tmp_path / "m1.csv"
    portfolio.to_csv(path, sep=";", decimal=",", encoding="cp1252", index=False)
    export = _export(portfolio.rename(columns={v: k for k, v in GERMAN_COLUMNS.items()}))
    export["account_id"] = "'" + export["account_id"]  # as a CSV-injection-safe export may write it
    export.to_csv(tmp_path / "export.csv", index=False)
    out, truth = tmp_path / "payments.csv", tmp_path / "truth.json"
    assert main(["sample-payments", "--export", str(tmp_path / "export.csv"), "--portfolio", str(path),
                 "--out", str(out), "--truth", str(truth), "--language", "de", "--start", "2027-02-01"]) == 0
    text = out.read_text(encoding="cp1252").splitlines()
    assert text[0] == "Aktenzeichen;Zahlungsdatum;Betrag"
    account, day, amount = text[1].split(";")
    assert account.startswith("AKT-") and day.endswith(".02.2027") and "," in amount
    data = json.loads(truth.read_text(encoding="utf-8"))
    assert data["archetype"] == "temporarily_strained" and len(data["personas"]) == len(PERSONAS)


def test_payments_file_reads_with_the_payments_reader(tmp_path):
    load_payments = pytest.importorskip("portfolio.payments").load_payments
    portfolio = generate_portfolio(1000, seed=9)
    paid = payments(portfolio, _export(portfolio), seed=2)
    for language in ("en", "de"):
        path = write_payments(paid, tmp_path / f"payments_{language}.csv", language=language)
        loaded = load_payments(path)
        assert len(loaded.frame) == len(paid)
        assert loaded.frame["amount"].sum() == pytest.approx(paid["amount"].sum())


def test_an_export_without_arms_is_refused(tmp_path, capsys):
    portfolio = generate_portfolio(200, seed=1)
    portfolio.to_parquet(tmp_path / "m1.parquet")
    pd.DataFrame({"account_id": portfolio["account_id"], "persona_id": 0}).to_csv(tmp_path / "e.csv", index=False)
    code = main(["sample-payments", "--export", str(tmp_path / "e.csv"), "--portfolio", str(tmp_path / "m1.parquet"),
                 "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 1 and "arm" in err and "Traceback" not in err and not (tmp_path / "p.csv").exists()
