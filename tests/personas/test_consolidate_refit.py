"""The refit split: a persona holding several behaviours that every fit joins is re-embedded alone (issue 15).

Synthetic and fast; the full measurement is the recovery suite (redundant features seed 5: truth ARI
0.335 -> 0.77, README).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from sklearn.metrics import adjusted_rand_score

from personas.consolidate import REFIT_BELOW, split_by_refit
from personas.quality import kmeans_check


def _world(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # four behaviours side by side, and two neighbouring ones farther off
    centres = np.array([[0, 0, 0, 0], [8, 0, 0, 0], [0, 8, 0, 0], [8, 8, 0, 0], [30, 30, 0, 0], [36, 30, 0, 0]],
                       dtype=float)
    sizes = [400, 400, 400, 400, 250, 250]
    truth = np.repeat(np.arange(6), sizes)
    return centres[truth] + rng.normal(0, 0.8, size=(len(truth), 4)), truth


def test_the_largest_persona_holding_four_behaviours_is_split_by_a_refit_on_its_own_accounts():
    Z, truth = _world()
    joined = np.where(truth <= 3, 0, truth - 3)    # 64 % of the accounts in one persona
    assert kmeans_check(joined, Z, seed=1)["kmeans_agreement"] < REFIT_BELOW
    log: list[dict] = []
    split = split_by_refit(joined, Z, SimpleNamespace(min_cluster_size=40), seed=1, log=log)
    assert log[-1]["step"] == "split (refit)" and log[-1]["done"] is True
    assert log[-1]["kmeans_agreement_after"] > log[-1]["kmeans_agreement"]
    assert adjusted_rand_score(truth, split) > 0.9 > adjusted_rand_score(truth, joined)


def test_no_refit_where_kmeans_agrees_with_the_personas():
    Z, truth = _world()
    log: list[dict] = []
    assert split_by_refit(truth, Z, SimpleNamespace(min_cluster_size=40), seed=1, log=log) is truth
    assert log == []
