"""Which arm of a champion/challenger experiment an account is in.

An account's arm is a function of the experiment id and the account id only: SHA-256 of
``experiment_id + "\\x00" + account_id`` read as a number in [0, 1). It is therefore

* **stable across months**: next month's run carries the experiment with the same id
  (:mod:`strategy.carry_over`), so an account keeps its arm;
* **independent of everything else**: risk score, balance, persona assignment order, the order of
  the file. No random generator, no state.

``u < holdout_share`` -> ``holdout`` (no collection contact), ``u < holdout_share +
challenger_share`` -> ``challenger``, else ``champion``. Accounts of personas without an approved
experiment are ``champion``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

ARMS = ("champion", "challenger", "holdout")
_SCALE = float(1 << 64)


@dataclass(frozen=True)
class ArmConfig:
    """The arms of one experiment.

    Parameters
    ----------
    experiment_id : str
        Seed of the assignment; kept when the experiment is carried to the next run.
    challenger_share : float
        Share (0..1) of the persona's accounts in the challenger arm.
    holdout_share : float
        Share (0..1) of the persona's accounts that receive no collection contact.
    """

    experiment_id: str
    challenger_share: float
    holdout_share: float = 0.0

    def __post_init__(self) -> None:
        if not self.experiment_id:
            raise ValueError("an experiment needs an id")
        if not (0.0 <= self.challenger_share <= 1.0 and 0.0 <= self.holdout_share <= 1.0
                and self.challenger_share + self.holdout_share <= 1.0):
            raise ValueError(f"arm shares challenger {self.challenger_share!r} and holdout "
                             f"{self.holdout_share!r} must lie in [0, 1] and add up to at most 1")


def arm_positions(account_ids: pd.Series, experiment_id: str) -> np.ndarray:
    """Each account's position u in [0, 1) (first 8 bytes of the SHA-256, big-endian)."""
    prefix = experiment_id.encode("utf-8") + b"\x00"
    return np.fromiter(
        (int.from_bytes(hashlib.sha256(prefix + str(a).encode("utf-8")).digest()[:8], "big") / _SCALE
         for a in account_ids), dtype="float64", count=len(account_ids))


def assign_arms(account_ids: pd.Series, config: ArmConfig) -> pd.Series:
    """The arm of each account (same index as ``account_ids``): champion, challenger or holdout."""
    u = arm_positions(account_ids, config.experiment_id)
    arms = np.where(u < config.holdout_share, "holdout",
                    np.where(u < config.holdout_share + config.challenger_share, "challenger",
                             "champion"))
    return pd.Series(arms, index=account_ids.index, dtype="object", name="arm")


def arms_of_accounts(accounts: pd.DataFrame, configs: dict[int, ArmConfig]) -> pd.Series:
    """The arm of every account of a run (``account_id``, ``persona_id``): the experiment of its
    persona decides; accounts of personas without one are ``champion``."""
    out = pd.Series("champion", index=accounts.index, dtype="object", name="arm")
    personas = accounts["persona_id"].astype(int)
    for persona_id, config in configs.items():
        members = personas == int(persona_id)
        if members.any():
            out[members] = assign_arms(accounts.loc[members, "account_id"].astype(str), config)
    return out
