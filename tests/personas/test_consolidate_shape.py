"""Consolidation by the shape of a pair, not only its valley (issue 15: the number of personas).

Synthetic and fast; the full measurement is the recovery suite (``benchmarks.recovery``): two
overlapping behaviours with no valley between them were merged (redundant features seed 7: four
personas for six), and a clump of one count column stayed a persona (few personas seed 4).
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from personas.consolidate import MERGE_ABOVE, holds_two_groups, merge_neighbours, pair_tests


def _two_overlapping_groups(distance: float = 2.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian groups ``distance`` standard deviations apart, differing in two of four columns."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(1400, 4))
    labels = np.repeat([0, 1], [800, 600])
    Z[labels == 1, :2] += distance / np.sqrt(2)
    return Z, labels


def _one_group_cut_in_two(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    Z = np.random.default_rng(seed).normal(size=(1400, 4))
    return Z, KMeans(2, n_init=3, random_state=0).fit_predict(Z)


def test_two_overlapping_groups_without_a_valley_are_not_merged_but_a_group_cut_in_two_is():
    Z, labels = _two_overlapping_groups()
    ratio, oneness = pair_tests(Z[labels == 0], Z[labels == 1], np.random.default_rng(1))
    assert ratio > MERGE_ABOVE  # the valley alone would merge them
    assert oneness < 0.1        # but the union is as flat as two groups make it
    log: list[dict] = []
    kept = merge_neighbours(labels, Z, np.random.default_rng(3), log)
    assert len(np.unique(kept)) == 2 and log[-1]["done"] is False

    Z, halves = _one_group_cut_in_two()
    ratio, oneness = pair_tests(Z[halves == 0], Z[halves == 1], np.random.default_rng(1))
    assert oneness > 0.6        # shaped like one group
    log = []
    merged = merge_neighbours(halves, Z, np.random.default_rng(3), log)
    assert len(np.unique(merged)) == 1 and log[0]["done"] is True


def _clump(differs_elsewhere: bool) -> tuple[np.ndarray, np.ndarray]:
    """Payers who almost never break a promise; the clump = some of those who broke one (a jittered count)."""
    rng = np.random.default_rng(5)
    n = 2500
    Z = rng.normal(size=(n, 4)) * 0.5
    broke, jitter = (rng.random(n) < 0.1).astype(float), rng.random(n)
    Z = np.c_[Z, broke + jitter]
    labels = np.where((broke > 0) & (jitter > 0.5), 1, 0)
    if differs_elsewhere:
        Z[labels == 1, :3] += 0.9
    return Z, labels


def test_a_clump_of_one_count_column_is_merged_into_its_persona_but_a_group_differing_in_more_is_not():
    Z, labels = _clump(differs_elsewhere=False)
    log: list[dict] = []
    merged = merge_neighbours(labels, Z, np.random.default_rng(3), log)
    assert len(np.unique(merged)) == 1
    assert log[0]["done"] is True and log[0]["reason"] == "valley of column 4 alone"

    Z, labels = _clump(differs_elsewhere=True)
    log = []
    kept = merge_neighbours(labels, Z, np.random.default_rng(3), log)
    assert len(np.unique(kept)) == 2 and log[-1]["done"] is False


def test_a_persona_holding_two_groups_is_told_from_one_group():
    Z, _ = _two_overlapping_groups(distance=3.0)  # the 2-means cut finds the two groups from 3 apart
    assert holds_two_groups(Z, seed=1) is True
    Z, _ = _one_group_cut_in_two()
    assert holds_two_groups(Z, seed=1) is False
