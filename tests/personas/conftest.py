"""Shared, session-scoped runs: UMAP pays ~12 s of numba compilation per process and a run takes
tens of seconds on a busy 2-core machine, so the expensive fits happen once and many tests read them."""
from __future__ import annotations

import os

import pytest


from persona_helpers import TRAIN_ROWS, generated_portfolio, small_settings


@pytest.fixture(scope="session")
def train_portfolio():
    return generated_portfolio(TRAIN_ROWS, seed=7)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, train_portfolio):
    """One run on the training portfolio (settings search on a small grid), saved once."""
    from application.pipeline import run_pipeline

    result = run_pipeline(train_portfolio, small_settings())
    directory = tmp_path_factory.mktemp("runs") / "train"
    result.save(directory)
    return directory


@pytest.fixture(scope="session")
def run_result(run_dir):
    from application.pipeline import load_run

    return load_run(run_dir)
