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

A third question, asked of each persona rather than of the whole fit: does it hold two behaviours
that no density valley separates (:func:`two_behaviours`, used by
:func:`personas.consolidate.split_two_behaviours`)? Neither stability nor the k-means agreement sees
those: every fit joins them alike, and k-means told the (too small) number of personas agrees.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from personas.structure import step_kappa

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

    from core.threads import limit_threads

    labels = np.asarray(labels)
    kept = np.flatnonzero(labels >= 0)
    personas = np.unique(labels[kept])
    if len(personas) < 2 or len(kept) < 10 * len(personas):
        return {"kmeans_agreement": None, "compactness": None, "rows": int(len(kept))}
    rng = np.random.default_rng(seed + 31)
    rows = np.sort(rng.choice(kept, size=min(SAMPLE_ROWS, len(kept)), replace=False))
    sample = np.asarray(Z[rows], dtype=np.float64)
    mine = labels[rows]
    with limit_threads(1):
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


# ---------------------------------------------------------------------------- two behaviours in one persona
#: Held-out log-likelihood gain per account (two groups over one, Gaussian copula) above which a persona
#: is taken to hold two behaviours (:func:`two_behaviours`). 0.005 also split one behaviour twice on
#: the recovery suite (gains 0.0076 and 0.0086: redundant features and missing at random, seed 4).
MIXTURE_GAIN = 0.01
#: Each of the two groups must hold at least this share of the persona (a mixture that explains a
#: small tail is an outlier group or an imputation artefact, not a second behaviour).
MIXTURE_MIN_SHARE = 0.30
#: Accounts of a persona the test is fitted on (a fixed-size sample; the two halves 2 x 1,500).
MIXTURE_ROWS = 3_000
#: Two-fold splits the gain is averaged over: with one, the gain of the same persona moved between
#: 0.0076 and 0.0146 with the random folds (redundant features seed 4), across the threshold.
MIXTURE_REPEATS = 3
#: Columns whose rank correlation with a column already in the test exceeds this are left out
#: (a behaviour measured twice: gross and net balance, days and weeks past due, payments per year and
#: per quarter). 0.7 left payments per quarter in and split a persona of redundant features seed 3.
MIXTURE_REDUNDANT = 0.50
#: A column of at most this many values (in the plain matrix) that is a step function of another
#: column (:func:`steps_of`, kappa at least ``MIXTURE_STEP_KAPPA``) is left out as well.
MIXTURE_STEP_LEVELS = 10
MIXTURE_STEP_KAPPA = 0.80
#: Columns whose spread is below this share of the widest column's are left out (weighted down as
#: noise by the relevance weighting, :mod:`personas.structure`).
MIXTURE_MIN_SPREAD = 0.10


def normal_scores(Z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Each column replaced by the normal quantile of its rank.

    Ties share their mean rank, or with ``rng`` are ranked in random order: a share rounded to zero
    for most accounts of a persona (partial payments of long-standing payers) would otherwise be one
    spike, which a mixture takes for a second group.
    """
    from scipy.stats import norm, rankdata

    n = len(Z)
    columns = []
    for j in range(Z.shape[1]):
        if rng is None:
            ranks = rankdata(Z[:, j])
        else:
            ranks = np.empty(n)
            ranks[np.lexsort((rng.random(n), Z[:, j]))] = np.arange(1, n + 1)
        columns.append(norm.ppf((ranks - 0.5) / n))
    return np.column_stack(columns)


def mixture_columns(Z: np.ndarray, plain: np.ndarray | None = None) -> np.ndarray:
    """Columns of ``Z`` (one persona's accounts) the mixture test uses: wide enough, not redundant.

    Widest first; a column is left out when its spread is below :data:`MIXTURE_MIN_SPREAD` of the
    widest one's, when it is one value for all accounts, or when it measures a kept column again:
    rank correlation above :data:`MIXTURE_REDUNDANT` or a step function of it (:func:`steps_of`).
    A behaviour measured twice otherwise looks like two groups: balance given gross and net with a
    heavy-tailed surcharge on one of them is a ridge plus a cloud (recovery suite, kitchen sink:
    gains 0.13-0.22 on personas of one behaviour), payments per quarter drawn from payments per year
    and a dunning level cut from days past due are staircases of blocks (redundant features: 0.02-0.2).
    Correlations and steps are taken on ``plain`` (the same accounts without the jitter of counts,
    when given): jitter spreads each dunning level and hides that it is days past due again.
    """
    spread = Z.std(axis=0)
    if not len(spread) or spread.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    levels = Z if plain is None else np.asarray(plain, dtype=np.float64)
    scores = normal_scores(levels)
    kept: list[int] = []
    for j in np.argsort(-spread, kind="stable"):
        if spread[j] < MIXTURE_MIN_SPREAD * spread.max() or len(np.unique(Z[:, j])) <= 2 \
                or not levels[:, j].std() > 0:  # a flag, or one value for every account but for jitter
            continue
        if all(abs(np.corrcoef(scores[:, j], scores[:, k])[0, 1]) <= MIXTURE_REDUNDANT
               and not steps_of(levels[:, j], levels[:, k]) and not steps_of(levels[:, k], levels[:, j])
               for k in kept):
            kept.append(int(j))
    return np.asarray(sorted(kept), dtype=np.int64)


def steps_of(coarse: np.ndarray, fine: np.ndarray) -> bool:
    """Is ``coarse`` (a column of few values) a step function of ``fine``, e.g. dunning level of days?
    (:func:`personas.structure.step_kappa` at least :data:`MIXTURE_STEP_KAPPA`: the two are one behaviour.)"""
    return step_kappa(coarse, fine, MIXTURE_STEP_LEVELS) >= MIXTURE_STEP_KAPPA


def two_behaviours(Z: np.ndarray, seed: int, plain: np.ndarray | None = None) -> dict[str, Any]:
    """Does one persona hold two behaviours that no density valley separates? A Gaussian-copula test.

    Two neighbouring behaviours (temporarily strained and promise breaker: more broken promises,
    fewer payments, otherwise alike) overlap so much that their accounts form one density bump: no
    valley between them even along their best separating direction (valley ratio 0.83 between the
    planted groups, :mod:`personas.consolidate`), so UMAP + HDBSCAN keep them as one persona in every
    fit, while k-means told the number of personas cuts them apart. What still tells them from one
    behaviour is the shape of the dependence between the columns: within one behaviour the columns
    vary (nearly) together as one elliptical cloud, two behaviours side by side are two clouds.
    Each column is replaced by its normal scores (ranks, so skewed amounts, counts and tails do
    not count as a second group), then a two-component Gaussian mixture is compared with one Gaussian
    on held-out accounts (two folds, :data:`MIXTURE_REPEATS` times): ``gain`` is the mean
    log-likelihood gain per account.

    Measured on the recovery suite (replayed on the inputs of every persona of seeds 3 and 4): the
    personas holding two planted behaviours gained 0.013-0.030 (missing at random, missing by
    persona, many personas; 0.12 for one holding three); personas of one behaviour up to 0.06, but
    then with a second group under 30 % of the persona (a tail: a sector, heavy tails; hence
    :data:`MIXTURE_MIN_SHARE`), and 0.023 once on a persona of 80 % one behaviour that was cut
    (redundant features seed 3, truth ARI -0.004). On the recovery suite's 5,000-account worlds (seeds
    1 and 2) the missing at random pair gained only 0.003 on 1,700 accounts and stays joined: the test needs accounts.

    Returns ``{"gain": float or None, "halves": 0/1 per row or None, "columns": n}``; None with too
    few accounts or columns.
    """
    from sklearn.mixture import GaussianMixture

    from core.threads import limit_threads

    Z = np.asarray(Z, dtype=np.float64)
    columns = mixture_columns(Z, plain)
    if len(Z) < 200 or len(columns) < 2:
        return {"gain": None, "halves": None, "columns": int(len(columns))}
    rng = np.random.default_rng(seed)
    U = normal_scores(Z[:, columns], rng)

    def mixture(k: int) -> GaussianMixture:
        return GaussianMixture(k, covariance_type="full", n_init=2 if k > 1 else 1, reg_covar=1e-3,
                               random_state=seed % (1 << 31))

    gains = []
    with limit_threads(1):
        for _repeat in range(MIXTURE_REPEATS):
            order = rng.permutation(len(U))[:MIXTURE_ROWS]
            folds = (order[: len(order) // 2], order[len(order) // 2:])
            for fit, held in (folds, folds[::-1]):
                gains.append(mixture(2).fit(U[fit]).score(U[held]) - mixture(1).fit(U[fit]).score(U[held]))
        halves = mixture(2).fit(U[order]).predict(U)
    gain = float(np.mean(gains))
    return {"gain": round(float(gain), 4), "halves": halves.astype(np.int64), "columns": int(len(columns))}
