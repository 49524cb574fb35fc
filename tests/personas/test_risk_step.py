"""With --target the pipeline calls the risk model (explain/) and merges its scores into the run."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from persona_helpers import generated_portfolio, small_settings
from application.pipeline import load_run, run_pipeline
from core.threads import usable_cores


@pytest.fixture(scope="module")
def risk_run(tmp_path_factory):
    pytest.importorskip("explain.risk")
    from dataclasses import replace

    settings = replace(small_settings(search=False), target="paid_90d", target_event="paid", truth_col=None)
    result = run_pipeline(generated_portfolio(900, seed=21), settings)
    return result.save(tmp_path_factory.mktemp("risk") / "run")


def test_risk_scores_and_reasons_join_every_account(risk_run):
    run = load_run(risk_run)
    assert run.accounts["risk_score"].between(0, 1).all()
    assert run.accounts["reasons"].str.len().gt(0).all()
    assert all(p["mean_risk_score"] is not None for p in run.profiles)


def test_the_risk_section_and_artefacts_are_written(risk_run):
    meta = json.loads((risk_run / "run.json").read_text("utf-8"))
    assert "skipped" not in meta["model"] and "risk model" in meta["timings"]
    assert (risk_run / "model_card.md").is_file() and (risk_run / "shap_values.parquet").is_file()


def test_a_run_whose_risk_model_file_was_altered_is_refused_not_shown_without_a_model(risk_run, tmp_path):
    import shutil

    from core.errors import UserError

    copy = tmp_path / "run"
    shutil.copytree(risk_run, copy)
    with open(copy / "risk" / "classifier.skops", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(UserError, match="classifier.skops: changed since the run was saved"):
        load_run(copy)


# ---------------------------------------------------------------------------- second process
def _risk_settings(**changes):
    from dataclasses import replace

    return replace(small_settings(search=False), **{"target": "paid_90d", "target_event": "paid",
                                                     "truth_col": None, **changes})


@pytest.fixture(scope="module")
def portfolio_900():
    return generated_portfolio(900, seed=21)


@pytest.fixture(scope="module")
def child_run(portfolio_900):
    pytest.importorskip("explain.risk")
    return run_pipeline(portfolio_900, _risk_settings(parallel_risk_min_rows=0))


def test_the_risk_model_fitted_alongside_discovery_equals_the_one_fitted_in_this_process(child_run,
                                                                                        portfolio_900):
    here = run_pipeline(portfolio_900, _risk_settings(parallel_risk=False))
    assert child_run.meta["model"]["computed_in"] == "child process"
    assert child_run.meta["timings"]["risk model (second process, alongside discovery)"] > 0
    assert here.meta["model"]["computed_in"].startswith("this process")
    assert child_run.accounts["risk_score"].tolist() == here.accounts["risk_score"].tolist()
    assert child_run.accounts["reasons"].tolist() == here.accounts["reasons"].tolist()
    # personas and map too: the assignment's search took every core once the child had ended, the map
    # ran beside it on its own thread; neither may change a result
    persona_columns = ["persona_id", "membership_probability", "needs_review", "x", "y"]
    pd.testing.assert_frame_equal(child_run.accounts[persona_columns], here.accounts[persona_columns])
    for name, values in here.risk.metrics.items():  # the last bit of a float sum may follow memory alignment
        assert child_run.risk.metrics[name] == pytest.approx(values, rel=1e-12, abs=1e-12)
    assert child_run.risk.persona_risk == here.risk.persona_risk


def test_persona_views_are_added_after_discovery_in_the_parent(child_run):
    assert set(child_run.risk.persona_risk) == set(child_run.accounts["persona_id"].unique())
    assert child_run.risk.persona_explanation() is not None
    assert all(p["mean_risk_score"] is not None for p in child_run.profiles)


def test_a_bad_target_found_by_the_child_is_the_same_user_error_as_without_it(portfolio_900):
    from dataclasses import replace

    from core.errors import UserError

    frame = portfolio_900.frame.copy()
    frame["always_paid"] = 1  # one outcome only: nothing to learn
    one_class = replace(portfolio_900, frame=frame)
    with pytest.raises(UserError, match="always_paid") as in_child:
        run_pipeline(one_class, _risk_settings(parallel_risk_min_rows=0, target="always_paid"))
    with pytest.raises(UserError) as in_process:
        run_pipeline(one_class, _risk_settings(parallel_risk=False, target="always_paid"))
    assert str(in_child.value) == str(in_process.value)


def test_a_child_that_gives_no_answer_falls_back_to_this_process_and_says_so(portfolio_900, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "executable", "/bin/false")  # starts, prints nothing, exits 1
    result = run_pipeline(portfolio_900, _risk_settings(parallel_risk_min_rows=0))
    assert result.meta["model"]["computed_in"].startswith("this process (the child process gave no result")
    assert result.accounts["risk_score"].between(0, 1).all()


def test_an_answer_whose_hash_does_not_match_is_never_unpickled():
    import pickle

    from application.risk_step import _decode, _encode

    good = _encode("ok", {"a": 1})
    assert _decode(good) == ("ok", {"a": 1})
    head, _, body = good.partition(b"\n")
    tampered = head + b"\n" + pickle.dumps({"a": 2})
    assert _decode(tampered) == (None, None)
    assert _decode(b"") == (None, None)
    assert _decode(b"Warning: something printed\n" + body) == (None, None)


def test_small_portfolios_fit_the_risk_model_in_this_process(portfolio_900):
    from application.risk_step import start_risk_step

    step = start_risk_step(portfolio_900.frame, portfolio_900.roles, _risk_settings())
    assert step.mode.startswith("this process (fewer than")
    assert start_risk_step(portfolio_900.frame, portfolio_900.roles, _risk_settings(target=None)) is None


def test_the_child_gets_no_personal_data_or_planted_truth(portfolio_900):
    from application.risk_step import _columns_for_risk

    settings = _risk_settings(truth_col="true_persona")
    sent = _columns_for_risk(portfolio_900.frame, portfolio_900.roles, settings)
    assert not set(portfolio_900.roles.pii) & set(sent.columns)
    assert "true_persona" not in sent.columns
    assert {"account_id", "paid_90d", "balance", "days_past_due"} <= set(sent.columns)


def test_work_here_uses_one_thread_while_the_child_runs_and_the_child_is_stopped_on_cancel(portfolio_900):
    from threadpoolctl import threadpool_info

    from application.risk_step import start_risk_step

    step = start_risk_step(portfolio_900.frame, portfolio_900.roles, _risk_settings(parallel_risk_min_rows=0))
    try:
        assert step.mode == "child process"
        with step.share_cores():
            assert {pool["num_threads"] for pool in threadpool_info()} == {1}
        assert step.threads_now() is None  # the child still runs: the one-thread limit holds
    finally:
        step.cancel()
    assert step._process.poll() is not None
    assert step.threads_now() == usable_cores()  # it has ended: its core is free again
