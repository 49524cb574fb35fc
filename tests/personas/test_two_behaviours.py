"""Two behaviours without a density valley in one persona are told apart; one behaviour is not cut (issue 15).

Fast and synthetic, from the recovery suite's own archetypes (``benchmarks.worlds``): temporarily
strained and promise breaker accounts overlap so much that no valley separates them (UMAP + HDBSCAN
joined them in every run of the missing-at-random world), yet they are two behaviours. The feature
matrix is built on the whole book, as the pipeline builds it. The full measurement is
``benchmarks.recovery`` (README).
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from benchmarks.worlds import behaviour
from personas.consolidate import split_two_behaviours
from personas.features import FeatureBuilder
from personas.quality import MIXTURE_GAIN, two_behaviours

#: forgetful, strained, over-indebted, unreachable, digital small balance, promise breaker, long-standing
ARCHETYPES = [0, 1, 2, 3, 5, 9, 10]
STRAINED, PROMISE_BREAKER = 1, 5  # positions in ARCHETYPES (= true_persona)


def _book(seed: int = 21) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered matrix (what UMAP and the tests see), plain matrix and planted personas."""
    frame = behaviour(ARCHETYPES, [0.16, 0.2, 0.12, 0.12, 0.12, 0.14, 0.14], rows=8_000, seed=seed)
    # a dunning level cut from days past due: the same behaviour again, a staircase of blocks
    frame["dunning_level"] = np.searchsorted([14, 30, 60, 90], frame["days_past_due"], side="right")
    columns = [c for c in frame.columns if c not in ("account_id", "true_persona")]
    builder = FeatureBuilder(columns).fit(frame)
    jittered = np.asarray(builder.transform(frame, jitter_seed=seed), dtype=np.float64)
    return jittered, np.asarray(builder.transform(frame), dtype=np.float64), frame["true_persona"].to_numpy()


def test_strained_and_promise_breaker_joined_are_split_and_no_single_behaviour_is():
    Z, plain, truth = _book()
    joined = np.where(truth == PROMISE_BREAKER, STRAINED, truth)
    pair = joined == STRAINED
    assert two_behaviours(Z[pair], seed=1, plain=plain[pair])["gain"] > MIXTURE_GAIN
    for persona in np.unique(truth):  # one behaviour each, incl. long-standing with its dunning staircase
        alone = truth == persona
        assert two_behaviours(Z[alone], seed=1, plain=plain[alone])["gain"] < MIXTURE_GAIN
    log: list[dict] = []
    labels = split_two_behaviours(joined, Z, plain, seed=1, log=log)
    assert [entry["sizes"] for entry in log if entry["done"]] and sum(entry["done"] for entry in log) == 1
    assert len(np.unique(labels)) == len(np.unique(truth))
    assert np.array_equal(labels[~pair], joined[~pair])          # the other personas untouched
    assert adjusted_rand_score(truth[pair], labels[pair]) > 0.4  # the split follows the two behaviours
    assert adjusted_rand_score(truth, labels) > adjusted_rand_score(truth, joined)


def test_too_few_accounts_or_columns_give_no_verdict():
    rng = np.random.default_rng(0)
    assert two_behaviours(rng.normal(size=(150, 4)), seed=1)["gain"] is None
    assert two_behaviours(rng.normal(size=(500, 1)), seed=1)["gain"] is None
    log: list[dict] = []
    labels = np.zeros(150, dtype=np.int64)
    assert np.array_equal(split_two_behaviours(labels, rng.normal(size=(150, 4)), rng.normal(size=(150, 4)),
                                               seed=1, log=log), labels) and log == []
