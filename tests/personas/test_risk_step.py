"""With --target the pipeline calls the risk model (explain/) and merges its scores into the run."""
from __future__ import annotations

import json

import pytest

from persona_helpers import generated_portfolio, small_settings
from personas.pipeline import load_run, run_pipeline


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

    from portfolio.errors import UserError

    copy = tmp_path / "run"
    shutil.copytree(risk_run, copy)
    with open(copy / "risk" / "model.pkl", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(UserError, match="changed after it was saved"):
        load_run(copy)
