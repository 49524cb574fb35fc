"""The recovery suite's report: targets and means say what was measured, also when a baseline was left out."""
from __future__ import annotations

from benchmarks.recovery import NAIVE_MAX_ROWS, markdown, summary
from benchmarks.worlds import WORLDS


def _row(world: str, rows: int, app: float, kmeans: float, naive: float | None = None) -> dict:
    row = {"world": world, "language": "de", "rows": rows, "seed": 3, "app_personas": 7, "true_personas": 7,
           "app_ari": app, "kmeans_ari": kmeans, "gmm_ari": 0.3, "confidence": app - 0.1, "settled": app > 0.85,
           "stability_ari": app, "app_seconds": 1.0, "role_problems": []}
    if naive is not None:
        row.update(naive_ari=naive, naive_personas=5)
    return row


def test_the_naive_mean_covers_only_the_runs_that_have_it_and_says_how_many():
    rows = [_row("kitchen_sink", 15_000, 0.86, 0.83, naive=0.70), _row("few_personas", 5_000, 0.99, 0.95, naive=0.90),
            _row("large_portfolio", 200_000, 0.88, 0.83), _row("many_personas", 20_000, 0.80, 0.81, naive=0.5)]
    s = summary(rows)
    assert s["naive_runs"] == 3 and abs(s["mean_naive_ari"] - 0.70) < 1e-9
    assert s["runs_at_least_both_baselines"] == 3 and s["runs"] == 4
    assert abs(s["worst_app_ari"] - 0.80) < 1e-9
    text = markdown({"worlds": rows, "summary": s, "finished_at": "now", "argv": [], "machine": "test",
                     "targets": [], "uci": None})
    assert f"naive 0.700 on the 3 runs of at most {NAIVE_MAX_ROWS:,} accounts" in text
    assert "| large_portfolio | de | 200,000 | 3 | 7 (7) | **0.880** | 0.830 | 0.300 | – |" in text


def test_the_suite_reaches_200000_accounts_and_both_export_languages():
    assert max(w.rows for w in WORLDS) >= 200_000 and min(w.rows for w in WORLDS) <= 5_000
    assert {w.language for w in WORLDS} == {"de", "en"}
    assert len({w.key for w in WORLDS}) == len(WORLDS) >= 8
