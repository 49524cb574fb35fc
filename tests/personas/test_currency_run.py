"""``personas run`` decides the currency once and records it in run.json: a currency column with one value,
else ``--currency``, else "currency unknown"; mixed currencies warn. Amounts in reasons follow it."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from application.cli import main
from sample_data.generator import generate_portfolio

ROWS = 300


def _csv(tmp_path, currency=None) -> str:
    frame = generate_portfolio(ROWS, seed=5)
    if currency is not None:
        frame["currency"] = currency
    path = tmp_path / "portfolio.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _run(tmp_path, capsys, *options, currency=None):
    out = tmp_path / "run"
    code = main(["run", _csv(tmp_path, currency), "--out", str(out), "--no-search", "--max-fit-rows", "300",
                 "--one-process", *options])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads((out / "run.json").read_text("utf-8")), out, captured


def test_a_usd_column_gives_dollars_in_run_json_and_reasons(tmp_path, capsys):
    meta, out, captured = _run(tmp_path, capsys, "--target", "paid_90d", currency="USD")
    assert meta["parameters"]["currency"] == {"code": "USD", "source": "column",
                                              "reason": "column 'currency' holds USD on every row"}
    assert "currency: USD" in captured.out
    reasons = " ".join(pd.read_parquet(out / "accounts.parquet")["reasons"].astype(str))
    assert "€" not in reasons
    if "Balance " in reasons:
        assert "Balance $" in reasons


def test_no_currency_column_and_no_setting_says_currency_unknown(tmp_path, capsys):
    meta, _, captured = _run(tmp_path, capsys)
    assert meta["parameters"]["currency"]["code"] is None
    assert meta["parameters"]["currency"]["source"] == "unknown"
    assert "currency unknown" in captured.err and "currency unknown" in captured.out


def test_currency_option_gives_euros(tmp_path, capsys):
    meta, _, captured = _run(tmp_path, capsys, "--currency", "eur")
    assert meta["parameters"]["currency"]["code"] == "EUR"
    assert meta["parameters"]["currency"]["source"] == "setting"
    assert meta["parameters"]["settings"]["currency"] == "EUR"


def test_mixed_currencies_warn_and_record_no_code(tmp_path, capsys):
    meta, _, captured = _run(tmp_path, capsys, currency=["EUR", "USD", "EUR"] * (ROWS // 3))
    assert meta["parameters"]["currency"]["source"] == "mixed"
    assert meta["parameters"]["currency"]["code"] is None
    warning = next(line for line in captured.err.splitlines() if "several currencies" in line)
    assert warning.startswith("warning:") and "cannot be summed" in warning


@pytest.mark.parametrize("bad", ["euro-ish", "12"])
def test_an_invalid_currency_option_is_a_usage_error_without_traceback(tmp_path, capsys, bad):
    code = main(["run", _csv(tmp_path), "--out", str(tmp_path / "run"), "--currency", bad])
    err = capsys.readouterr().err
    assert code == 2 and "not a currency" in err and "Traceback" not in err
