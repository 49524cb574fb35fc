"""Helpers for the persona tests: generated portfolios and small, fast run settings."""
from __future__ import annotations

TRAIN_ROWS = 2500
TEST_DISCOVERY = dict(search_rows=1500, stability_resamples=2, search_n_neighbors=(15,),
                      search_min_cluster_shares=(0.02, 0.04), display_rows=800)


def generated_portfolio(rows: int, seed: int, language: str = "en"):
    from portfolio.load import load_portfolio
    from sample_data.generator import generate_portfolio

    frame = generate_portfolio(rows, seed=seed, language=language)
    return load_portfolio(frame, filename=f"generated_{rows}_{seed}_{language}.csv")


def small_settings(**changes):
    from personas.settings import RunSettings

    return RunSettings(truth_col="true_persona").with_discovery(**dict(TEST_DISCOVERY, **changes))
