"""What `personas run` checks before discovery and what it reports about the rows it left out.

A file without an id column runs on row-number ids; a 1/2-coded outcome stops the run before any
discovery and runs once the event value is named; rows excluded per reason reach run.json, the
command's output and the model card; `validate` and `run` exit alike on the same file.
"""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from application.cli import main
from core.errors import UserError
from persona_helpers import small_settings

ROWS = 600
MISSING_SHARE = 0.2


def export_without_ids(rows: int = ROWS, seed: int = 3) -> pd.DataFrame:
    """A generated portfolio as another system might export it: no id column, outcome coded 1/2
    (2 = not paid), the generator's own outcome columns removed."""
    from sample_data.generator import generate_portfolio

    frame = generate_portfolio(rows, seed=seed)
    frame["credit_class"] = np.where(frame["paid_90d"] == 1, 1, 2)
    return frame.drop(columns=["account_id", "paid_90d", "amount_recovered_90d"])


def with_missing_balances(frame: pd.DataFrame, share: float, seed: int = 0) -> pd.DataFrame:
    frame = frame.copy()
    rows = np.random.default_rng(seed).choice(len(frame), int(share * len(frame)), replace=False)
    frame.loc[rows, "balance"] = np.nan
    return frame


@pytest.fixture(scope="module")
def missing_balances_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("checks") / "export.csv"
    with_missing_balances(export_without_ids(), MISSING_SHARE).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def coded_run(missing_balances_csv, tmp_path_factory):
    """`personas run` on the file with the event value of the 1/2 outcome named."""
    out = tmp_path_factory.mktemp("checks") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["run", str(missing_balances_csv), "--out", str(out), "--no-search", "--truth-col",
                     "true_persona", "--target", "credit_class", "--target-event", "default",
                     "--target-event-value", "2"])
    return code, out, stdout.getvalue(), stderr.getvalue()


def _meta(out) -> dict:
    return json.loads((out / "run.json").read_text("utf-8"))


# ---------------------------------------------------------------- no id column
def test_a_portfolio_without_an_id_column_runs_on_row_numbers_with_a_warning():
    from application.pipeline import run_pipeline
    from portfolio.load import load_portfolio

    portfolio = load_portfolio(export_without_ids(), filename="no_ids.csv")
    result = run_pipeline(portfolio, small_settings(search=False))

    assert portfolio.report.generated_ids
    assert any(p.code == "generated_ids" and "row number" in p.message for p in portfolio.report.warnings)
    assert result.accounts["account_id"].str.fullmatch(r"row_\d+").all()
    assert result.accounts["account_id"].is_unique and len(result.accounts) == ROWS


def test_run_warns_that_the_ids_are_row_numbers(coded_run):
    code, _, _, err = coded_run
    assert code == 0
    assert "warning: no account id column was found" in err


# ---------------------------------------------------------------- a 1/2-coded outcome
def test_a_1_2_coded_target_stops_run_before_discovery_naming_column_values_and_option(
        missing_balances_csv, tmp_path, capsys, monkeypatch):
    import application.pipeline as pipeline

    def must_not_run(*args, **kwargs):
        raise AssertionError("discovery or the risk step started although the outcome column is unusable")

    monkeypatch.setattr(pipeline.PersonaModel, "fit", must_not_run)
    monkeypatch.setattr(pipeline, "start_risk_step", must_not_run)
    monkeypatch.setattr(pipeline, "stratified_sample", must_not_run)

    code = main(["run", str(missing_balances_csv), "--out", str(tmp_path / "run"), "--target", "credit_class"])

    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 1 and "Traceback" not in err
    assert "'credit_class'" in errors[0] and "'1'" in errors[0] and "'2'" in errors[0]
    assert "--target-event-value" in errors[0]
    assert not (tmp_path / "run").exists()


def test_the_pipeline_refuses_a_1_2_coded_target_before_discovery(monkeypatch):
    import application.pipeline as pipeline
    from portfolio.load import load_portfolio

    monkeypatch.setattr(pipeline.PersonaModel, "fit", lambda *a, **k: pytest.fail("discovery ran"))
    portfolio = load_portfolio(export_without_ids(200), filename="coded.csv")

    with pytest.raises(UserError, match=r"credit_class.*'1'.*'2'.*--target-event-value"):
        pipeline.run_pipeline(portfolio, replace(small_settings(search=False), target="credit_class"))


def test_a_1_2_coded_target_runs_once_the_event_value_is_named(coded_run, missing_balances_csv):
    code, out, _, _ = coded_run
    assert code == 0
    model = _meta(out)["model"]
    assert model["target"] == "credit_class" and model["target_event"] == "default"
    used = pd.read_csv(missing_balances_csv).dropna(subset=["balance"])
    assert model["not_paid_rate"] == pytest.approx((used["credit_class"] == 2).mean())
    assert _meta(out)["parameters"]["settings"]["target_event_value"] == "2"


# ---------------------------------------------------------------- excluded rows per reason
def test_excluded_rows_are_counted_per_reason_in_run_json(coded_run):
    _, out, _, _ = coded_run
    rows = _meta(out)["rows"]
    assert rows["read"] == ROWS and rows["used"] == ROWS - int(MISSING_SHARE * ROWS)
    assert rows["excluded"] == {"balance is empty or NaN": int(MISSING_SHARE * ROWS)}


def test_run_prints_the_excluded_rows_per_reason(coded_run):
    _, _, out, _ = coded_run
    assert f"{int(MISSING_SHARE * ROWS)} excluded ({int(MISSING_SHARE * ROWS)} balance is empty or NaN)" in out


def test_the_model_card_lists_columns_used_excluded_and_every_excluded_row(coded_run, missing_balances_csv):
    _, out, _, _ = coded_run
    card = (out / "model_card.md").read_text("utf-8")
    data = card.split("## Data", 1)[1].split("\n## ", 1)[0]
    assert f"| balance is empty or NaN | {int(MISSING_SHARE * ROWS)} |" in data
    file_rows = pd.read_csv(missing_balances_csv)["balance"].isna().to_numpy().nonzero()[0] + 2
    listed = data.split("| balance is empty or NaN |", 1)[1].split("\n", 1)[0]
    numbers = set()
    for part in listed.split("|")[1].split(","):
        low, _, high = part.strip().partition("–")
        numbers.update(range(int(low), int(high or low) + 1))
    assert numbers == set(file_rows.tolist())
    assert "**Columns used by the risk model**" in data and "`balance`" in data
    assert "**Columns not used by the risk model**" in data
    for column in ("first_name", "gender", "credit_class", "true_persona"):
        assert f"`{column}`" in data.split("**Columns not used by the risk model**")[1]
    assert "no account id column" in data


# ---------------------------------------------------------------- one exit code rule
def test_validate_and_run_exit_0_on_the_same_file_with_20_percent_missing_balances(coded_run, missing_balances_csv,
                                                                                    capsys):
    code, _, _, _ = coded_run
    assert main(["validate", str(missing_balances_csv)]) == code == 0
    assert main(["validate", str(missing_balances_csv), "--target", "credit_class", "--target-event",
                 "default", "--target-event-value", "2"]) == 0


def test_validate_and_run_exit_1_on_the_same_unusable_file(tmp_path, capsys):
    path = tmp_path / "mostly_empty.csv"
    frame = export_without_ids(200)
    frame["account_id"] = [f"A{i}" for i in range(len(frame))]
    with_missing_balances(frame, 0.6).to_csv(path, index=False)

    assert main(["validate", str(path)]) == 1
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--no-search"]) == 1
    assert "more than the 50% allowed" in capsys.readouterr().err


def test_validate_and_run_both_refuse_the_unnamed_1_2_target_with_exit_1(missing_balances_csv, tmp_path, capsys):
    assert main(["validate", str(missing_balances_csv), "--target", "credit_class"]) == 1
    assert main(["run", str(missing_balances_csv), "--out", str(tmp_path / "run"), "--target", "credit_class"]) == 1
