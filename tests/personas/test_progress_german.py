"""The pipeline's progress stages (the Personas page's progress bar, the CLI's stderr lines) in the
reader's language; English stays as it was."""
from __future__ import annotations

from dataclasses import replace

from persona_helpers import generated_portfolio, small_settings

from application.pipeline import STAGE_TEXTS, run_pipeline, stage_text
from core.i18n import use_language

ENGLISH = {"validation", "features", "map", "profiles", "done", "risk model, SHAP and fairness",
           "risk model, SHAP and fairness (finishing in the second process)", *STAGE_TEXTS}


def test_a_german_run_reports_its_progress_in_german():
    stages: list[tuple[str, float]] = []
    with use_language("de"):
        # with a target the risk step runs too; in this process it passes on its own stages (SHAP, fairness)
        settings = replace(small_settings(search=False), target="paid_90d", target_event="paid",
                           parallel_risk=False)
        run_pipeline(generated_portfolio(600, seed=3), settings,
                     progress=lambda stage, fraction: stages.append((stage, fraction)))
    texts = [stage for stage, _fraction in stages]
    assert texts[0] == "Prüfung der Daten" and texts[-1] == "fertig"
    for expected in ("Merkmale", "Persona-Suche: UMAP-Einbettung", "Persona-Suche: HDBSCAN", "Karte", "Profile"):
        assert expected in texts
    assert any(t.startswith("Risikomodell, SHAP und Fairness") for t in texts)
    assert "SHAP-Werte" in texts and "Fairness" in texts
    assert not ENGLISH & set(texts), [t for t in texts if t in ENGLISH]


def test_stages_of_the_domain_packages_stay_english_in_english():
    with use_language("en"):
        assert [stage_text(s) for s in ("discovery: HDBSCAN", "shap", "something new")] == [
            "discovery: HDBSCAN", "shap", "something new"]
    with use_language("de"):
        assert stage_text("fairness") == "Fairness" and stage_text("something new") == "something new"
