"""Runs with a planted champion/challenger effect and their payments, for the read-out and KPI tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from runs import new_run_id
from strategy.arms import ArmConfig, assign_arms
from strategy.run_view import RunView, load_run_view
from tests.run_factory import save_fabricated_run


@dataclass
class HandExperiment:
    """What the read-out needs of an experiment (the fields of ``strategy.experiments.Experiment``)."""

    experiment_id: str
    challenger_share: float
    holdout_share: float = 0.0
    planned_days: int = 60
    min_sample_per_arm: int | None = None
    base_pay_rate: float | None = None
    min_detectable_effect: float | None = None
    persona_id: int = 0


def planted_run(directory: Path, *, n_per_persona: int = 4000, champion_rate: float = 0.20,
                effect: float = 0.06, seed: int = 11, holdout_share: float = 0.0,
                min_sample: int | None = None) -> tuple[RunView, pd.DataFrame, dict[int, HandExperiment], dict]:
    """Two personas; persona 0 runs an experiment whose challenger truly pays ``effect`` more often.

    Returns the run, its payments (one per paying account, some reversals), the experiments and the truth.
    """
    rng = np.random.default_rng(seed)
    ids = [f"K{p}{i:05d}" for p in (0, 1) for i in range(n_per_persona)]
    accounts = pd.DataFrame({"account_id": ids, "persona_id": [0] * n_per_persona + [1] * n_per_persona})
    portfolio = pd.DataFrame({"account_id": ids, "balance": rng.lognormal(np.log(800), 0.5, len(ids)).round(2),
                              "days_past_due": rng.integers(1, 400, len(ids))})
    profiles = [{"persona_id": p, "name": name, "size": n_per_persona, "share_accounts": 0.5, "share_balance": 0.5}
                for p, name in ((0, "Forgetful payers"), (1, "Serial promise breakers"))]
    folder = save_fabricated_run(directory, new_run_id(), profiles, accounts, portfolio=portfolio)
    run = load_run_view(folder)
    experiment = HandExperiment("exp-planted", 0.3, holdout_share, min_sample_per_arm=min_sample)
    arms = pd.Series("champion", index=accounts.index)
    members = accounts["persona_id"] == 0
    arms[members] = assign_arms(accounts.loc[members, "account_id"], ArmConfig("exp-planted", 0.3, holdout_share))
    rate = np.where(arms == "challenger", champion_rate + effect,
                    np.where(arms == "holdout", champion_rate / 2, champion_rate))
    pays = rng.random(len(ids)) < rate
    share_paid = rng.uniform(0.1, 1.0, len(ids))
    payers = np.flatnonzero(pays)
    payments = pd.DataFrame({"account_id": np.asarray(ids)[payers],
                             "paid_on": pd.Timestamp("2026-12-10") + pd.to_timedelta(rng.integers(0, 50, len(payers)), "D"),
                             "amount": (portfolio["balance"].to_numpy() * share_paid)[payers].round(2)})
    truth = {"pay_rate_difference": effect, "arms": pd.Series(arms.to_numpy(), index=accounts["account_id"])}
    return run, payments, {0: experiment}, truth
