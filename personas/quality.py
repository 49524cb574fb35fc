"""Quality of the final personas measured without truth: does an independent method agree?

The final fit's stability (:func:`personas.discovery.final_fit_metrics`) asks whether fits of the same
setting on other sub-samples and seeds find the same personas. It cannot see an error every fit makes
alike: on the recovery suite (``benchmarks.recovery``, redundant features, seed 5) HDBSCAN joined four
planted behaviours into one persona of 63 % of the accounts in every fit, so stability was 0.96 and the
run "settled" at truth ARI 0.335.

The second opinion here is a method with the opposite bias, told the same number of personas:
k-means on the same behavioural matrix (:func:`personas.consolidate.test_space`, every column at its
relevance weight). Density-based personas and compact k-means groups agree when the personas are
real groups of accounts; they disagree when a persona holds several behaviours (k-means, told the
number, spends its groups on them instead) or a behaviour is cut in two. ``kmeans_agreement`` is the
adjusted Rand index between the personas and that k-means partition, on a fixed-size sample of the
fitted accounts (noise left out). ``compactness`` is the share of the variance the personas explain
over the share k-means explains with as many groups (1 = as compact as k-means' own groups).

Measured on the recovery suite (59 runs: every world on seeds 1-5, seeds 1-2 at the quick sizes, and
redundant features on seeds 6-9): k-means agreement 0.52 on the run above, 0.60-0.94 on the others.
It has misses of its own: k-means cuts a large persona of one behaviour (unequal sizes, 45 %
persona: 0.63-0.66 at truth ARI 0.95-0.96), and it agrees with personas that merge behaviours in
pairs (redundant features seed 7: four personas for six behaviours, two pairs, agreement 0.85). So it
lowers the confidence only where it is low (:func:`agreement_factor`, full at
:data:`AGREEMENT_FULL`). Spearman rank correlation of the confidence with truth ARI, stability alone
-> stability x agreement factor: seeds 3-4 0.62 -> 0.67, seed 5 0.35 -> 0.78, seeds 1-2 0.26 -> 0.37,
all 59 runs 0.39 -> 0.53; ``AGREEMENT_FULL`` 0.8 or 0.9 raise it further (0.56, 0.58 on all runs)
but leave 28 or 25 of 59 runs settled instead of 37, most of them good ones.
"""
from __future__ import annotations

from typing import Any

import numpy as np

#: Accounts k-means is fitted on (a fixed-size sample of the fitted, non-noise accounts).
SAMPLE_ROWS = 5_000
#: k-means restarts: with 3 the agreement moved by up to 0.2 between samples (local optima), with 10
#: by at most 0.015 (recovery suite, four samples of each of five runs).
N_INIT = 10


def _explained(labels: np.ndarray, Z: np.ndarray) -> float:
    """Share of the total sum of squares explained by the groups (R squared of the partition)."""
    total = float(((Z - Z.mean(axis=0)) ** 2).sum())
    if total <= 0:
        return 0.0
    within = sum(float(((Z[labels == g] - Z[labels == g].mean(axis=0)) ** 2).sum()) for g in np.unique(labels))
    return 1.0 - within / total


def kmeans_check(labels: np.ndarray, Z: np.ndarray, seed: int) -> dict[str, Any]:
    """k-means told the number of personas, on the same matrix: agreement and compactness.

    Returns ``{"kmeans_agreement": ARI or None, "compactness": ratio or None, "rows": n}``; None with
    fewer than two personas or too few accounts.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    labels = np.asarray(labels)
    kept = np.flatnonzero(labels >= 0)
    personas = np.unique(labels[kept])
    if len(personas) < 2 or len(kept) < 10 * len(personas):
        return {"kmeans_agreement": None, "compactness": None, "rows": int(len(kept))}
    rng = np.random.default_rng(seed + 31)
    rows = np.sort(rng.choice(kept, size=min(SAMPLE_ROWS, len(kept)), replace=False))
    sample = np.asarray(Z[rows], dtype=np.float64)
    mine = labels[rows]
    with threadpool_limits(1):
        theirs = KMeans(len(personas), n_init=N_INIT, random_state=seed % (1 << 31)).fit_predict(sample)
    best = _explained(theirs, sample)
    return {"kmeans_agreement": round(float(adjusted_rand_score(mine, theirs)), 4),
            "compactness": round(_explained(mine, sample) / best, 4) if best > 0 else None,
            "rows": int(len(rows))}


#: k-means agreement at or above which the confidence is the stability alone; below it the
#: stability is scaled by agreement / AGREEMENT_FULL (see :func:`personas.discovery.confidence`).
AGREEMENT_FULL = 0.75


def agreement_factor(agreement: float | None) -> float:
    """1 at or above :data:`AGREEMENT_FULL`, ``agreement / AGREEMENT_FULL`` below (1 when unknown)."""
    if agreement is None:
        return 1.0
    return float(min(1.0, max(0.0, agreement) / AGREEMENT_FULL))
