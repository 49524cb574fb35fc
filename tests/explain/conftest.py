"""Shared, seeded risk-model fits (computed once per test session: fitting is the slow part)."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from explain.risk import RiskSettings, fit_risk_model
from portfolio.load import load_portfolio
from sample_data.generator import generate_portfolio

FAST = RiskSettings(bootstrap_resamples=50)


class DirReader:
    """The reader ``RiskResult.load`` takes, reading a folder back as it is (the app's
    ``runs.folder.RunFolder`` also checks every file against the run's signed manifest)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def has(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def read_bytes(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def read_text(self, name: str) -> str:
        return self.read_bytes(name).decode("utf-8")

    def read_json(self, name: str) -> Any:
        return json.loads(self.read_bytes(name))

    def read_parquet(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.read_bytes(name)), columns=columns)


def portfolio_of(rows: int, seed: int = 42, **kwargs):
    return load_portfolio(generate_portfolio(rows, seed=seed, **kwargs))


def persona_codes(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.Categorical(frame["true_persona"]).codes)


@pytest.fixture(scope="session")
def generator_portfolio():
    """The generator's 5,000-row portfolio as the app loads it (real column roles)."""
    return portfolio_of(5_000)


@pytest.fixture(scope="session")
def risk_5k(generator_portfolio):
    """Risk model on the 5,000-row portfolio with the default settings (200 bootstrap resamples)."""
    p = generator_portfolio
    return fit_risk_model(p.frame, p.roles, target="paid_90d", target_event="paid",
                          persona_ids=persona_codes(p.frame), settings=RiskSettings())


@pytest.fixture(scope="session")
def planted_risk():
    """Risk model on a portfolio where one gender group behaves worse (plant_disparity=True)."""
    p = portfolio_of(4_000, seed=7, plant_disparity=True)
    return fit_risk_model(p.frame, p.roles, target="paid_90d", settings=FAST)
