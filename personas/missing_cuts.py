"""Personas told apart by a missing value: the check behind the verdict's "cut by a missing value".

The run's confidence (:func:`personas.discovery.confidence`) asks whether other fits find the same
personas. A cut that the data's gaps make is found by every fit alike, so it looks settled. On the
project's generator, accounts that never answered have no best response hour; the unreachable and
the first-payment-default personas were each cut into "hour known" and "hour missing for 66-100 %"
(100,000-account portfolio, seeds 1-12), and on the 1,000,000-account portfolio the unreachable
persona was cut into "hour known and in the morning" against the rest (61 % missing), at stability
0.90: "settled". Whether a missing value is behaviour (an account that never answered) or a gap in
an export is something only a person who knows the data can say, so the check does not merge: it
names the pair and the column, and the verdict asks that person.

For each persona and its nearest neighbour (centroids in the test space,
:func:`personas.consolidate.test_space`) and each numeric column used for the personas:

* the share of accounts without a value differs by at least :data:`GAP` between the two,
* without that column (its value and its missing flag) the two show no density valley: valley ratio
  at least :data:`personas.consolidate.SPLIT_BELOW`, the split test's own threshold (the mean of
  :data:`REPEATS` honest tests, :func:`personas.consolidate.valley_ratio`), so their other columns
  do not tell them apart, and
* among the accounts that do have a value the two show no clear valley (ratio at least
  :data:`personas.consolidate.KMEANS_SPLIT_BELOW`, the stricter threshold consolidation applies to a
  freely chosen cut), or one of them has fewer than :data:`MIN_RECORDED` such accounts: a morning
  and an evening group of responders would be two behaviours, whatever the missing values.

Measured on the generator's 100,000-account portfolio (discovery replayed on the fitted 10,000-account
sample, seeds 1-12; the generator leaves the best response hour empty for accounts that never
answered): 12 pairs of found personas halve one planted persona with a gap of 0.52-1.00 in that
column; without it their valley ratio is 0.48-0.70, among the accounts with an hour 0.43-0.69 or too
few to test, and all 12 are named (with the recorded accounts' test at ``SPLIT_BELOW`` instead, the
two at 0.43 and 0.45 were missed). Of the 12 pairs of different planted personas with a gap above
0.4, 11 differ by less than the gap or keep a valley without the column (0.07); one pair of
fragments (201 disputing and 144 unreachable accounts, gap 0.62, 0.49 without the column, 0.35
among the accounts with an hour) is named as well. The verdict of five of the six runs called
settled is unchanged; the sixth (truth ARI 0.80, the lowest of them) is no longer settled. These
are figures from the project's own generator; the recovery suite's worlds (a persona defined by a
missing contact rate, values missing at random) and the UCI data are in the README.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Difference in the share of accounts without a value (0..1) from which a pair is examined.
GAP = 0.5
#: Fewest accounts with a value on each side for the valley test among them.
MIN_RECORDED = 50
#: Honest valley tests averaged (each a new random halving): a single test moved by up to ~0.1 between
#: halvings on the generator's pairs of 55-470 accounts with a value.
REPEATS = 3
#: Accounts per persona the check reads (a deterministic sample; the valley test needs no more).
PER_PERSONA = 2_000


def missing_cuts(labels: np.ndarray, Z: np.ndarray, missing: dict[str, np.ndarray], positions: dict[str, list[int]],
                 seed: int) -> list[dict[str, Any]]:
    """Neighbouring personas told apart mainly by whether a column has a value.

    ``labels``: persona per row (-1 = none); ``Z``: the test-space matrix of the same rows;
    ``missing``: column -> True where the row has no value (numeric columns used for the personas);
    ``positions``: column -> its columns in ``Z`` (the value and its missing flag, where kept).
    Returns one dict per (pair, column), most different first: ``personas`` [a, b], ``column``,
    ``missing_shares`` [a's, b's] (0..1), ``valley_ratio_without`` (the pair without the column),
    ``recorded`` [accounts of a, of b with a value] and ``valley_ratio_recorded`` (among those;
    ``None``: too few to test).
    """
    from personas.consolidate import KMEANS_SPLIT_BELOW, SPLIT_BELOW

    ids = np.unique(labels[labels >= 0])
    if len(ids) < 2 or not missing:
        return []
    members = {int(p): labels == p for p in ids}
    centres = np.array([Z[members[int(p)]].mean(axis=0) for p in ids])
    pairs = set()
    for i in range(len(ids)):
        distance = np.linalg.norm(centres - centres[i], axis=1)
        distance[i] = np.inf
        j = int(np.argmin(distance))
        pairs.add((int(min(ids[i], ids[j])), int(max(ids[i], ids[j]))))
    cuts = []
    for a, b in sorted(pairs):
        in_a, in_b = members[a], members[b]
        if min(in_a.sum(), in_b.sum()) < 4:  # too few accounts for any test (as in consolidation)
            continue
        for column, absent in missing.items():
            share_a, share_b = float(absent[in_a].mean()), float(absent[in_b].mean())
            if abs(share_a - share_b) < GAP:
                continue
            rng = np.random.default_rng([seed, a, b])
            others = np.setdiff1d(np.arange(Z.shape[1]), positions.get(column, []))
            if not len(others):
                continue
            without = _mean_valley(Z[in_a][:, others], Z[in_b][:, others], rng)
            if without < SPLIT_BELOW:
                continue  # separated by their other columns: behaviour, not the gap alone
            rec_a, rec_b = in_a & ~absent, in_b & ~absent
            counts = [int(rec_a.sum()), int(rec_b.sum())]
            recorded = _mean_valley(Z[rec_a], Z[rec_b], rng) if min(counts) >= MIN_RECORDED else None
            if recorded is not None and recorded < KMEANS_SPLIT_BELOW:
                continue  # the accounts with a value are separated (morning against evening): behaviour
            cuts.append({"personas": [a, b], "column": str(column),
                         "missing_shares": [round(share_a, 4), round(share_b, 4)],
                         "valley_ratio_without": round(without, 3), "recorded": counts,
                         "valley_ratio_recorded": None if recorded is None else round(recorded, 3)})
    cuts.sort(key=lambda c: (-abs(c["missing_shares"][0] - c["missing_shares"][1]), c["personas"], c["column"]))
    return cuts


def _mean_valley(A: np.ndarray, B: np.ndarray, rng: np.random.Generator) -> float:
    from personas.consolidate import valley_ratio

    return float(np.mean([valley_ratio(A, B, rng) for _ in range(REPEATS)]))


def check_run(frame: pd.DataFrame, persona_ids: np.ndarray, builder: Any, seed: int) -> list[dict[str, Any]]:
    """:func:`missing_cuts` for a run: every persona's accounts (at most :data:`PER_PERSONA` of each,
    drawn with ``seed``), in the matrix the personas were found in (``builder.transform`` with the
    run's jitter), over the numeric columns the builder uses that have missing values there."""
    persona_ids = np.asarray(persona_ids)
    rng = np.random.default_rng(seed + 101)
    rows = []
    for persona in np.unique(persona_ids[persona_ids >= 0]):
        members = np.flatnonzero(persona_ids == persona)
        rows.append(members if len(members) <= PER_PERSONA else rng.choice(members, PER_PERSONA, replace=False))
    if len(rows) < 2:
        return []
    rows = np.sort(np.concatenate(rows))
    from personas.profiles import missing_columns

    part = frame.iloc[rows]
    missing = missing_columns(builder, part, kinds=("numeric",))
    if not missing:
        return []
    Z = np.asarray(builder.transform(part, jitter_seed=seed), dtype=np.float64)
    names = list(builder.feature_names_out_)
    positions = {column: [i for i, name in enumerate(names) if name in (column, f"{column} (missing)")]
                 for column in missing}
    return missing_cuts(persona_ids[rows], Z, missing, positions, seed)


def with_missing_cuts(metrics: dict[str, Any], cuts: list[dict[str, Any]],
                      edits: list[dict[str, Any]] | tuple = ()) -> dict[str, Any]:
    """``metrics`` (run.json's) with ``missing_cuts`` and the verdict they change: a run with such a cut
    is not settled, whatever its confidence (``settled`` = confidence >= threshold and no open cut).

    ``edits`` are the run's analyst edits (:mod:`personas.edits`) in order: a ``keep_apart`` decision
    on a pair and column marks that cut ``kept_apart_by`` (who, ``kept_apart_at`` when) and it no
    longer counts against the run. A merge, split or reduce after the decision changes personas, so
    it asks again. ``confidence_limited_by`` keeps saying what limited the confidence itself.
    """
    decided = _decisions(edits)
    marked = []
    for cut in cuts:
        cut = {k: v for k, v in cut.items() if k not in ("kept_apart_by", "kept_apart_at")}
        decision = decided.get((tuple(sorted(cut["personas"])), cut["column"]))
        if decision is not None:
            cut.update(kept_apart_by=decision.get("user"), kept_apart_at=decision.get("at"))
        marked.append(cut)
    out = dict(metrics)
    out["missing_cuts"] = marked
    value, threshold = out.get("confidence"), out.get("settled_threshold")
    if value is not None and threshold is not None:
        out["settled"] = bool(value >= threshold and not open_cuts(marked))
    return out


def open_cuts(cuts: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The cuts no analyst has decided on (no ``kept_apart_by``)."""
    return [c for c in cuts or [] if not c.get("kept_apart_by")]


def _decisions(edits: list[dict[str, Any]] | tuple) -> dict[tuple[tuple[int, ...], str], dict[str, Any]]:
    decided: dict[tuple[tuple[int, ...], str], dict[str, Any]] = {}
    for edit in edits or ():
        action = edit.get("action")
        if action in ("merge", "split", "reduce"):
            decided.clear()  # other personas now: decide again
        elif action == "keep_apart":
            decided[(tuple(sorted(int(p) for p in edit["persona_ids"])), str(edit["column"]))] = edit
    return decided
