"""Which parts of a portfolio's input describe behaviour, learned from its numeric structure.

Used by :class:`personas.features.FeatureBuilder` when it is fitted. The idea: personas are groups of
accounts that are alike in many behaviours at once, so a column that carries persona structure is
predictable from the *other* columns' group structure, and a column of noise is not. The groups are
an over-segmentation (k-means with :data:`OVER_CLUSTERS` clusters, more than any portfolio's number
of personas), so they follow the structure without having to be the personas.

All eta squared below are beyond chance (:func:`beyond_chance`).

* Numeric column j: correlation ratio (eta squared) of j given the groups found WITHOUT j. Measured
  on the recovery suite (4,000-row samples): pure-noise columns 0.003-0.006, behavioural columns
  0.08-0.86. Weight ``min(1, eta2 / NUMERIC_FULL_ETA2)``: columns the others do not predict at all
  lose (almost) all weight, and a column the others predict only weakly (an over-dispersed count
  whose spread within every persona dwarfs the differences between them: portal log-ins with half
  of each persona at zero, eta squared 0.105) weighs less than the well-predicted ones. With the
  ramp ending at 0.10 such a count weighed fully and its zero / non-zero clumps cut personas in two
  (recovery suite, heavy tails seeds 3 / 4: truth ARI 0.84 / 0.68 -> 0.92 / 0.93 with the ramp
  ending at 0.20). 0.25 did as well on the worlds but moved the settings search on the UCI data to
  9 personas whose outcome separation fell below k-means' (0.072 vs 0.109); 0.15 likewise (0.088
  vs 0.100); 0.20 keeps it at k-means' (0.108 vs 0.107) -- the search's choice there is fragile.
* Missing-value indicator of column j: eta squared of "j is missing" given the groups without j:
  0.002 for values missing completely at random, 0.055 for missing depending on the balance, 0.19-0.45
  when one persona has no value (never reached, hence no contact rate).
* Categorical level: eta squared of the 0/1 level indicator given the groups of all numeric columns:
  0.002-0.006 for levels independent of behaviour, 0.08-0.16 for the other levels of a column one
  of whose levels marks a persona (and the sample generator's loosely related sectors and payment
  methods), 0.33-0.66 for the marking level itself.

Indicators (levels, missingness) are weighted by :func:`flag_weight`, a ramp from 0 at
``FLAG_RAMP[0]`` to 1 at ``FLAG_RAMP[1]`` eta squared, placed between those measured groups.

Missing values are imputed from the centroid of the nearest group (distance over the observed,
weighted columns), so an account with an unknown value sits among accounts alike in everything
else, not at the portfolio median.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

OVER_CLUSTERS = 16
STRUCTURE_ROWS = 4_000
NUMERIC_FULL_ETA2 = 0.20
NUMERIC_MIN_WEIGHT = 0.02
FLAG_RAMP = (0.10, 0.30)
#: A coarse copy: a column of at most this many values ...
COPY_MAX_LEVELS = 12
#: ... that a column with at least this many times as many values rebuilds as a step function ...
COPY_FINER = 4
#: ... with Cohen's kappa at least this (:func:`step_kappa`). Measured: a dunning level cut from days
#: past due rebuilds at 1.000 (recovery suite, redundant features), 0.956 when 2 % of accounts lag one
#: level behind (dunning runs on a schedule; not caught at 0.99: truth ARI 0.785 / 0.799 against
#: k-means' 0.81 / 0.82 on seeds 3 / 4), 0.888 with 5 % and 0.785 with 10 % behind (the layers blur;
#: the app beats k-means there without this rule). The sample generator's time-barred flag rebuilds
#: at 0.945-0.985 from days past due (1.7 % of accounts); left out, the generator's planted personas
#: are found better (5,000 / 100,000 accounts: 10 -> 8 personas, truth ARI 0.864 / 0.865 -> 0.893 /
#: 0.894; the guardrails still read the flag per account). Every other pair of the suite's worlds, the
#: UCI data and the sample stays below 0.71, so 0.90 sits in an empty gap.
COPY_KAPPA = 0.90


def correlation_ratio(codes: np.ndarray, values: np.ndarray) -> float:
    """Share of the variance of ``values`` explained by the groups ``codes`` (eta squared, 0..1)."""
    values = np.asarray(values, dtype=np.float64)
    total = float(np.var(values))
    if total <= 0 or len(values) == 0:
        return 0.0
    counts = np.bincount(codes).astype(float)
    means = np.bincount(codes, weights=values) / np.maximum(counts, 1)
    between = float(np.sum(counts * (means - values.mean()) ** 2) / len(values))
    return min(max(between / total, 0.0), 1.0)


def beyond_chance(eta2: float, groups: int, rows: int) -> float:
    """Eta squared above what ``groups`` random groups of ``rows`` accounts explain by chance.

    Independent values get eta squared of about (groups - 1) / (rows - 1) on average (0.004 for 16
    groups of 4,000 accounts, 0.008 on 2,000): subtracted, so that noise weighs ~0 at every size.
    """
    chance = (groups - 1) / max(rows - 1, 1)
    return float(max(0.0, (eta2 - chance) / (1.0 - chance))) if chance < 1 else 0.0


def flag_weight(eta2: float) -> float:
    """Weight 0..1 of a 0/1 indicator (a categorical level, a missing flag) from its eta squared."""
    low, high = FLAG_RAMP
    return float(np.clip((eta2 - low) / (high - low), 0.0, 1.0))


def numeric_weight(eta2: float) -> float:
    return float(max(NUMERIC_MIN_WEIGHT, min(1.0, eta2 / NUMERIC_FULL_ETA2)))


def over_segment(Z: np.ndarray, seed: int = 0) -> np.ndarray:
    """k-means labels of an over-segmentation of ``Z`` (no NaN)."""
    from sklearn.cluster import KMeans

    from core.threads import limit_threads

    k = int(min(OVER_CLUSTERS, max(2, len(Z) // 50)))
    # One thread: these fits are small and run once per column; OpenMP threads that spin-wait cost
    # 10-25x their work when the cores are busy (26 fits on 1,000 rows: 5.4 s -> 0.2 s under load).
    with warnings.catch_warnings(), limit_threads(1):
        warnings.simplefilter("ignore")
        return KMeans(k, n_init=1, max_iter=100, random_state=seed).fit_predict(Z).astype(np.int64)


def group_centroids(Z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean of the observed values of each column per group (0 = the column median where unknown)."""
    return group_moments(Z, labels)[0]


def group_moments(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the observed values of each column per group."""
    k = int(labels.max()) + 1
    observed = ~np.isnan(Z)
    values = np.where(observed, Z, 0.0)
    sums, squares, counts = np.zeros((k, Z.shape[1])), np.zeros((k, Z.shape[1])), np.zeros((k, Z.shape[1]))
    np.add.at(sums, labels, values)
    np.add.at(squares, labels, values ** 2)
    np.add.at(counts, labels, observed.astype(float))
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    spread = np.sqrt(np.maximum(squares / np.maximum(counts, 1) - means ** 2, 0.0))
    return means, np.where(counts > 1, spread, 0.0)


def impute(Z: np.ndarray, centroids: np.ndarray, weights: np.ndarray,
           choose_on: np.ndarray | None = None, spread: np.ndarray | None = None,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Fill NaN in ``Z`` with the values of the nearest centroid over the observed, weighted columns.

    ``choose_on`` (same shape, e.g. ``Z`` without jitter) decides the nearest centroid when given,
    so that jittering one column never changes the values imputed in another. With ``spread``
    (per-centroid standard deviations) and ``rng``, imputed values are drawn around the centroid
    instead of placed on it: for the embedding only, where hundreds of accounts on one exact value
    would form a clump of their own.
    """
    missing = np.isnan(Z)
    rows = np.flatnonzero(missing.any(axis=1))
    if not len(rows):
        return Z
    out = Z.copy()
    basis = Z if choose_on is None else choose_on
    w2 = np.asarray(weights, dtype=np.float64) ** 2
    for start in range(0, len(rows), 5_000):
        part = rows[start:start + 5_000]
        values, seen = basis[part], ~np.isnan(basis[part])
        filled = np.where(seen, values, 0.0)
        observed_weight = seen * w2
        # weighted squared distance over the observed columns only, one centroid at a time: the same
        # sums as one (rows x centroids x columns) array, without its memory traffic (3x faster)
        dist = np.empty((len(part), len(centroids)))
        for c, centroid in enumerate(centroids):
            dist[:, c] = ((filled - centroid) ** 2 * observed_weight).sum(axis=1)
        norm = observed_weight.sum(axis=1, keepdims=True)
        nearest = np.argmin(dist / np.maximum(norm, 1e-12), axis=1)
        fill = np.where(norm > 0, centroids[nearest], 0.0)
        if spread is not None and rng is not None:
            fill = fill + rng.normal(size=fill.shape) * np.where(norm > 0, spread[nearest], 0.0)
        out[part] = np.where(missing[part], fill, out[part])
    return out


def step_kappa(coarse: np.ndarray, fine: np.ndarray, max_levels: int = COPY_MAX_LEVELS) -> float:
    """How well ``fine`` rebuilds ``coarse`` (a column of few values) as a step function (0..1, or 0
    when ``coarse`` has more than ``max_levels`` values or only one).

    The accounts sorted by ``fine`` are given the levels of ``coarse`` in that order (as many of each
    as ``coarse`` has, rising or falling); the result is Cohen's kappa of that rebuilt column against
    ``coarse``: 1 for a dunning level cut from days past due. A rank correlation misses it when one
    level holds most accounts (long-standing payers: 85 % at dunning level 0, Spearman 0.63).
    """
    return _kappa_in_order(np.asarray(coarse)[np.argsort(fine, kind="stable")], max_levels)


def _kappa_in_order(ordered: np.ndarray, max_levels: int) -> float:
    """:func:`step_kappa` of a coarse column already sorted by the finer one."""
    values, counts = np.unique(ordered, return_counts=True)
    if len(values) > max_levels or len(values) < 2:
        return 0.0
    chance = float(np.sum((counts / len(ordered)) ** 2))
    best = max(float(np.mean(np.repeat(values, counts) == ordered)),
               float(np.mean(np.repeat(values[::-1], counts[::-1]) == ordered)))
    return (best - chance) / (1.0 - chance)


def _distinct_values(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where ``Z`` is observed, and how many distinct observed values each column has."""
    observed = ~np.isnan(Z)
    return observed, np.array([len(np.unique(Z[observed[:, j], j])) for j in range(Z.shape[1])])


def coarse_copies(Z: np.ndarray) -> dict[int, int]:
    """Columns that are a step function of a finer column: ``{coarse column: finer column}``.

    A dunning level cut from days past due says nothing the days do not, but its few values are
    layers with empty space between them, and UMAP + HDBSCAN cut personas along those layers
    (recovery suite, redundant features seeds 3 / 4 / 5 / 7: truth ARI 0.76 / 0.83 / 0.80 / 0.76 with
    the level, 0.84 / 0.84 / 0.83 / 0.80 without it, against k-means' 0.81 / 0.82 / 0.81 / 0.81).
    Such a column is left out of the distances; the profiles still show it.
    """
    observed, distinct = _distinct_values(Z)
    coarse = np.flatnonzero((distinct >= 2) & (distinct <= COPY_MAX_LEVELS))
    copies: dict[int, int] = {}
    if not len(coarse):
        return copies
    for i in np.argsort(-distinct, kind="stable"):  # finest first: the copy is of the finest column
        candidates = [j for j in coarse if j != i and j not in copies and i not in copies
                      and distinct[i] >= COPY_FINER * distinct[j]]
        if not candidates:
            continue
        order = np.argsort(Z[:, i], kind="stable")  # missing values of the finer column sort last
        ordered = Z[order][:, candidates]
        seen = observed[order][:, candidates] & observed[order, i][:, None]
        # A step function changes level (levels - 1) times along the finer column; a column that
        # changes far more often between neighbouring accounts cannot reach the kappa. One vectorised
        # count for all candidates: a wide export has hundreds of pairs.
        changes = ((ordered[1:] != ordered[:-1]) & seen[1:] & seen[:-1]).sum(axis=0)
        n_seen = seen.sum(axis=0)
        for k, j in enumerate(candidates):
            if n_seen[k] < 50 or changes[k] > distinct[j] + 2 * (1.0 - COPY_KAPPA) * n_seen[k]:
                continue
            if _kappa_in_order(ordered[seen[:, k], k], COPY_MAX_LEVELS) >= COPY_KAPPA:
                copies[int(j)] = int(i)
    return copies


def categorical_copies(codes: dict[Any, np.ndarray], Z: np.ndarray) -> dict[Any, int]:
    """Categoricals whose levels are steps of a finer numeric column: ``{name: finer column}``.

    The text form of :func:`coarse_copies`: a German export writes the dunning level as "1. Mahnung",
    "2. Mahnung", "Inkasso". Its levels have no order of their own, so they are put in the order the
    finer column gives them (each level's mean position along it) and then tested like a numeric
    level. Each level kept as a flag cut personas at the steps (recovery suite, redundant features
    with the level as text, seeds 3 / 4: 14 personas for 6, truth ARI 0.51 / 0.48 against k-means'
    0.82 / 0.83). ``codes``: name -> level code per account (-1 = missing or a level not kept).
    """
    observed, distinct = _distinct_values(Z)
    found: dict[Any, int] = {}
    for name, code in codes.items():
        code = np.asarray(code, dtype=np.int64)
        n_levels = len(np.unique(code[code >= 0]))
        if not 2 <= n_levels <= COPY_MAX_LEVELS:
            continue
        for i in np.argsort(-distinct, kind="stable"):
            if distinct[i] < COPY_FINER * n_levels:
                break
            keep = observed[:, i] & (code >= 0)
            if keep.sum() < 50:
                continue
            ordered = code[keep][np.argsort(Z[keep, i], kind="stable")]
            counts = np.bincount(ordered)
            position = np.bincount(ordered, weights=np.arange(len(ordered), dtype=np.float64))
            mean_position = np.where(counts > 0, position / np.maximum(counts, 1), np.inf)
            rank = np.empty(len(counts), dtype=np.float64)
            rank[np.argsort(mean_position, kind="stable")] = np.arange(len(counts))
            if _kappa_in_order(rank[ordered], COPY_MAX_LEVELS) >= COPY_KAPPA:
                found[name] = int(i)
                break
    return found


def learn_structure(Z: np.ndarray, indicators: dict[str, np.ndarray], seed: int = 0) -> dict[str, Any]:
    """Relevance of every numeric column, missing indicator and categorical level.

    Parameters
    ----------
    Z : ndarray (n, p)
        Transformed, scaled numeric columns with NaN where a value is missing.
    indicators : dict
        Name -> 0/1 array of length n (one per categorical level).

    Returns
    -------
    dict with ``numeric`` (eta squared per column), ``missing`` (eta squared of each column's missing
    indicator, None without missing values), ``levels`` ({name: eta squared}), ``weights`` (numeric
    weights 0..1), ``redundancy`` (copies per column), ``centroids`` / ``spread`` (k x p: mean and
    standard deviation per group, for imputation) and ``labels`` (the groups).
    """
    n, p = Z.shape
    missing = np.isnan(Z)
    labels = over_segment(np.where(missing, 0.0, Z), seed)
    centroids = group_centroids(Z, labels)
    filled = impute(Z, centroids, np.ones(p))
    numeric, missing_eta2 = [], []
    for j in range(p):
        others = [k for k in range(p) if k != j]
        groups = over_segment(filled[:, others], seed) if others else np.zeros(n, dtype=np.int64)
        seen = ~missing[:, j]
        k = int(groups.max()) + 1
        numeric.append(beyond_chance(correlation_ratio(groups[seen], Z[seen, j]), k, int(seen.sum()))
                       if seen.sum() > 1 else 0.0)
        missing_eta2.append(beyond_chance(correlation_ratio(groups, missing[:, j].astype(float)), k, n)
                            if missing[:, j].any() else None)
    weights = np.array([numeric_weight(e) for e in numeric])
    # Groups on the weighted columns: what the clustering will see; centroids for imputation.
    labels = over_segment(impute(Z, centroids, weights) * weights, seed)
    centroids, spread = group_moments(Z, labels)
    redundancy = within_group_redundancy(impute(Z, centroids, weights), labels, weights)
    k = int(labels.max()) + 1
    levels = {name: beyond_chance(correlation_ratio(labels, values.astype(float)), k, n)
              for name, values in indicators.items()}
    return {"numeric": numeric, "missing": missing_eta2, "levels": levels, "weights": weights.tolist(),
            "redundancy": redundancy.tolist(), "centroids": centroids, "spread": spread, "labels": labels}


def within_group_redundancy(Z: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """How many times each column is measured: sum of squared within-group correlations with the
    (relevant) columns, itself included. 1 for a column measured once; about 2 for a balance given
    gross and net. Within groups, so that columns that merely differ between personas together (a
    high balance goes with many days past due) do not count as copies."""
    means = np.zeros((int(labels.max()) + 1, Z.shape[1]))
    np.add.at(means, labels, Z)
    means /= np.maximum(np.bincount(labels), 1)[:, None]
    residual = Z - means[labels]
    sd = residual.std(axis=0)
    ok = sd > 1e-9
    corr = np.zeros((Z.shape[1], Z.shape[1]))
    corr[np.ix_(ok, ok)] = np.corrcoef(residual[:, ok], rowvar=False)
    np.fill_diagonal(corr, 1.0)
    relevant = (np.asarray(weights) >= 0.5).astype(float)
    return np.maximum(1.0, (corr ** 2 * relevant[None, :]).sum(axis=1))
