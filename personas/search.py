"""Choosing discovery settings without ground truth: stability, relative validity and noise share.

For every ``n_neighbors`` in the grid, UMAP is fitted on ``stability_resamples`` sub-samples of the
fitted rows (each drawn without replacement and embedded with its own seed); every
``min_cluster_share`` is then clustered on those same embeddings (one UMAP per sub-sample is
reused across all min cluster sizes, which keeps the search cheap). Each grid row is scored by

* ``stability_ari``: mean pairwise adjusted Rand index of the sub-samples' labels on the accounts
  they share (1 = the same personas whatever the sample and seed);
* ``relative_validity``: HDBSCAN's DBCV approximation (higher = denser, better separated);
* ``noise_share``: share of accounts HDBSCAN left unassigned (lower is better).

``score = 0.5 * stability_ari + 0.3 * max(relative_validity, 0) + 0.2 * (1 - noise_share)``;
settings giving fewer than two personas are not eligible. Stability gets the largest weight because
analysts act only on personas that do not change with the seed.
"""
from __future__ import annotations

from itertools import combinations
from typing import Any, Callable

import numpy as np

from core.errors import Message, Number, from_plain, to_plain
from core.i18n import N_, _
from personas.settings import DiscoverySettings

WEIGHTS = {"stability_ari": 0.5, "relative_validity": 0.3, "not_noise": 0.2}


def _subsamples(n: int, rows: int, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    size = min(rows, max(2, int(0.8 * n)))
    return [np.sort(rng.choice(n, size=size, replace=False)) for _sample in range(count)]


def _pairwise_ari(samples: list[np.ndarray], labels: list[np.ndarray]) -> float:
    from sklearn.metrics import adjusted_rand_score

    scores = []
    for (i, j) in combinations(range(len(samples)), 2):
        shared, pos_i, pos_j = np.intersect1d(samples[i], samples[j], return_indices=True)
        if len(shared) >= 10:
            scores.append(adjusted_rand_score(labels[i][pos_i], labels[j][pos_j]))
    return float(np.mean(scores)) if scores else float("nan")


def _score(row: dict[str, Any]) -> float:
    if row["personas"] < 2 or np.isnan(row["stability_ari"]):
        return float("nan")
    validity = max(row["relative_validity"] or 0.0, 0.0)
    return (WEIGHTS["stability_ari"] * row["stability_ari"] + WEIGHTS["relative_validity"] * validity
            + WEIGHTS["not_noise"] * (1.0 - row["noise_share"]))


def search_settings(X: np.ndarray, settings: DiscoverySettings, seed: int,
                    progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Score the grid (or only the configured setting when ``settings.search`` is off).

    Returns
    -------
    dict with ``table`` (list of row dicts: n_neighbors, min_cluster_share, min_cluster_size,
    personas, noise_share, stability_ari, relative_validity, score, chosen), ``chosen`` (the chosen
    row), ``reason`` (one sentence for the analyst, in English) and ``reason_message`` (the same as
    ``core.errors.to_plain`` of a message: render it with :func:`reason_text`).
    """
    from personas.discovery import hdbscan_labels, umap_embedding

    report = progress or (lambda stage, fraction: None)
    grid_nn = settings.search_n_neighbors if settings.search else (settings.n_neighbors,)
    grid_share = settings.search_min_cluster_shares if settings.search else (settings.min_cluster_share,)
    samples = _subsamples(len(X), settings.search_rows, max(2, settings.stability_resamples), seed)
    table: list[dict[str, Any]] = []
    fits: list[list[np.ndarray]] = []
    steps, done = len(grid_nn) * len(samples), 0
    for n_neighbors in grid_nn:
        embeddings = []
        for r, rows in enumerate(samples):
            report(_("settings search: UMAP {done} of {steps}").format(done=done + 1, steps=steps),
                   0.05 + 0.6 * done / steps)
            embeddings.append(umap_embedding(X[rows], n_neighbors=n_neighbors,
                                             n_components=settings.n_components,
                                             n_epochs=settings.search_n_epochs,
                                             seed=seed + 101 * (r + 1)))
            done += 1
        for share in grid_share:
            size = settings.min_cluster_size(len(samples[0]), share)
            results = [hdbscan_labels(e, min_cluster_size=size, min_samples=settings.min_samples,
                                      validity=(r == 0)) for r, e in enumerate(embeddings)]
            labels = [res[0] for res in results]
            row = {"n_neighbors": int(n_neighbors), "min_cluster_share": float(share),
                   "min_cluster_size_full": settings.min_cluster_size(len(X), share),
                   "personas": int(np.median([lab.max() + 1 for lab in labels])),
                   "noise_share": float(np.mean([np.mean(lab < 0) for lab in labels])),
                   "stability_ari": _pairwise_ari(samples, labels),
                   "relative_validity": results[0][2]}
            row["score"] = _score(row)
            table.append(row)
            fits.append(labels)
    result = _choose(table, settings)
    # The sub-sample labels of the chosen setting: the final fit is compared with them (its stability).
    # Not part of the saved search table (arrays); PersonaModel takes them out.
    chosen = next(i for i, row in enumerate(table) if row["chosen"])
    result["_subsamples"] = {"rows": samples, "labels": fits[chosen]}
    return result


def _choose(table: list[dict[str, Any]], settings: DiscoverySettings) -> dict[str, Any]:
    eligible = [r for r in table if not np.isnan(r["score"])]
    if eligible:
        # Ties go to the configured defaults, then to fewer neighbours and larger personas.
        best = max(eligible, key=lambda r: (round(r["score"], 4),
                                            r["min_cluster_share"] == settings.min_cluster_share,
                                            r["n_neighbors"] == settings.n_neighbors,
                                            r["min_cluster_share"]))
        reason = Message(N_("highest combined score {score} = 0.5 x stability {stability} + 0.3 x relative "
                            "validity {validity} + 0.2 x (1 - noise share {noise}) among {tried} settings tried, "
                            "each on sub-samples of {rows} accounts (the final fit's own figures are in the "
                            "metrics)"),
                         score=Number(best["score"], 3), stability=Number(best["stability_ari"], 2),
                         validity=Number(max(best["relative_validity"] or 0, 0), 2),
                         noise=Number(best["noise_share"], 2), tried=len(table), rows=int(settings.search_rows))
    else:
        best = next((r for r in table if r["n_neighbors"] == settings.n_neighbors
                     and r["min_cluster_share"] == settings.min_cluster_share), table[0])
        reason = Message(N_("no setting gave two or more stable personas; the configured defaults were kept"))
    if len(table) == 1:
        reason = Message(N_("settings search skipped (--no-search); stability measured for the configured setting"))
    for row in table:
        row["chosen"] = row is best
        for key in ("score", "stability_ari"):
            if isinstance(row[key], float) and np.isnan(row[key]):
                row[key] = None
    # run.json keeps the English sentence ("reason") and adds its language-neutral form beside it.
    return {"table": table, "chosen": best, "reason": reason.english, "reason_message": to_plain(reason)}


def reason_text(search: dict[str, Any] | None, language: str | None = None) -> str:
    """The settings search's reason (``run.json`` ``settings_search``) in ``language`` (default: the
    current one); a run saved without ``reason_message`` shows its English ``reason``."""
    search = search or {}
    stored = search.get("reason_message")
    if isinstance(stored, dict) and "message" in stored:
        message = from_plain(stored)
        if isinstance(message, Message):
            return message.render(language)
    return str(search.get("reason") or "")
