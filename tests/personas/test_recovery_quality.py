"""The confidence must tell the truth: a persona holding several behaviours is not "settled" (issue 15).

Fast and synthetic: blobs in a feature matrix stand for planted behaviours. The full validation is the
recovery suite (``python -m benchmarks.recovery``; redundant features seed 5 was the case: four planted
behaviours in one persona in every fit, stability 0.96, truth ARI 0.335).
"""
from __future__ import annotations

import numpy as np

from personas.discovery import confidence, final_fit_metrics
from personas.quality import AGREEMENT_FULL, agreement_factor, kmeans_check


def _blobs(k: int = 6, per: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, size=(k, 5))
    truth = np.repeat(np.arange(k), per)
    return (centres[truth] + rng.normal(0, 1, size=(len(truth), 5))).astype(np.float32), truth


def _same_everywhere(labels: np.ndarray) -> dict:
    """Sub-samples that found exactly the final personas: stability 1."""
    rows = [np.arange(0, len(labels), 2), np.arange(1, len(labels), 2)]
    return {"rows": rows, "labels": [labels[r] for r in rows]}


def test_kmeans_agrees_with_personas_that_are_the_planted_groups():
    X, truth = _blobs()
    check = kmeans_check(truth, X, seed=3)
    assert check["kmeans_agreement"] > 0.95
    assert 0.98 < check["compactness"] <= 1.01


def test_kmeans_disagrees_with_a_persona_holding_four_behaviours():
    X, truth = _blobs()
    merged = np.where(truth <= 3, 0, truth)          # four behaviours in one persona ...
    merged = np.where(truth == 4, 1, merged)
    rng = np.random.default_rng(1)                   # ... and a behaviour cut in two at random
    merged = np.where(truth == 5, 2 + (rng.random(len(truth)) < 0.5), merged)
    check = kmeans_check(merged, X, seed=3)
    assert check["kmeans_agreement"] < 0.6
    assert check["compactness"] < 0.9


def test_a_stable_fit_that_merges_behaviours_is_not_settled():
    X, truth = _blobs()
    merged = np.where(truth <= 3, 0, truth - 3)      # 3 personas: one holds four behaviours
    metrics = final_fit_metrics(merged, X, None, 1.0, _same_everywhere(merged), seed=5, threshold=0.75)
    assert metrics["stability_ari"] == 1.0           # every fit merges them alike ...
    assert metrics["kmeans_agreement"] < AGREEMENT_FULL
    assert metrics["confidence"] < 0.75 and metrics["settled"] is False   # ... and the verdict says so
    good = final_fit_metrics(truth, X, None, 1.0, _same_everywhere(truth), seed=5, threshold=0.75)
    assert good["confidence"] > 0.95 and good["settled"] is True


def test_confidence_is_stability_where_kmeans_agrees_and_scaled_below():
    assert confidence({"stability_ari": 0.9, "kmeans_agreement": 0.92}) == 0.9
    assert confidence({"stability_ari": 0.958, "kmeans_agreement": 0.518}) == round(0.958 * 0.518 / AGREEMENT_FULL, 4)
    assert confidence({"stability_ari": 0.9}) == 0.9              # runs saved before the check
    assert confidence({"stability_ari": None, "kmeans_agreement": 0.5}) is None
    assert agreement_factor(-0.1) == 0.0 and agreement_factor(None) == 1.0


def test_too_few_personas_or_accounts_give_no_check():
    X, truth = _blobs(k=2, per=20)
    assert kmeans_check(np.zeros(len(truth), dtype=int), X, seed=0)["kmeans_agreement"] is None
    labels = np.full(len(truth), -1)
    labels[:3], labels[3:6] = 0, 1
    assert kmeans_check(labels, X, seed=0)["kmeans_agreement"] is None
