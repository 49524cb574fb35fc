"""Analyst edits of personas: rename, merge, split, reduce; recorded and re-playable.

Each edit is a plain dict ``{"action", "user", "at" (UTC ISO 8601), ...}`` kept in ``edits.json``.
Edits change the *reference* of a :class:`~personas.discovery.PersonaModel` (the clustered accounts
that new accounts are assigned against) and its names, so replaying the same list on the saved model
gives the same personas when next month's portfolio is assigned. Everything a replay needs is in the
record (merge lists of a reduce, the new ids and seed of a split), so replays are exact.

* rename: ``{"persona_id", "name"}``
* merge: ``{"persona_ids": [a, b, ...], "into": min id, "name": optional}``
* split: ``{"persona_id", "parts", "seed", "new_ids"}`` - k-means inside the persona, in feature
  space (the space accounts are assigned in); the largest part keeps the id.
* reduce: ``{"n": target count, "merges": [[into, other], ...]}`` - repeatedly merge the two
  personas whose centroids are most similar (cosine similarity around the reference's mean), as
  BERTopic's ``reduce_topics`` does.
* keep_apart: ``{"persona_ids": [a, b], "column"}`` - the analyst's decision that two personas told
  apart only by whether ``column`` has a value (:mod:`personas.missing_cuts`) differ in behaviour;
  the personas do not change, the run's verdict no longer counts that pair against it
  (:func:`personas.missing_cuts.with_missing_cuts`).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

from core.errors import UserError

ACTIONS = ("rename", "merge", "split", "reduce", "keep_apart")


def now_utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _record(action: str, user: str | None, **fields: Any) -> dict[str, Any]:
    return {"action": action, "user": user or "analyst", "at": now_utc(), **fields}


def rename(persona_id: int, name: str, user: str | None = None) -> dict[str, Any]:
    name = " ".join(str(name).split())
    if not name:
        raise UserError("A persona name cannot be empty.")
    if len(name) > 80:
        raise UserError("A persona name can have at most 80 characters.")
    return _record("rename", user, persona_id=int(persona_id), name=name)


def merge(persona_ids: list[int], user: str | None = None, name: str | None = None) -> dict[str, Any]:
    ids = sorted({int(p) for p in persona_ids})
    if len(ids) < 2:
        raise UserError("Choose at least two personas to merge.")
    return _record("merge", user, persona_ids=ids, into=ids[0], name=name)


def split(persona_id: int, parts: int = 2, user: str | None = None, seed: int = 42) -> dict[str, Any]:
    if int(parts) < 2:
        raise UserError("A persona is split into at least two parts.")
    return _record("split", user, persona_id=int(persona_id), parts=int(parts), seed=int(seed), new_ids=None)


def reduce(n: int, user: str | None = None) -> dict[str, Any]:
    if int(n) < 1:
        raise UserError("Reduce to at least one persona.")
    return _record("reduce", user, n=int(n), merges=None)


def keep_apart(persona_ids: list[int], column: str, user: str | None = None) -> dict[str, Any]:
    ids = sorted({int(p) for p in persona_ids})
    if len(ids) != 2:
        raise UserError("Choose the two personas to keep apart.")
    return _record("keep_apart", user, persona_ids=ids, column=str(column))


# ---------------------------------------------------------------------------- applying to a model
def _check_ids(model: Any, ids: list[int]) -> None:
    present = set(model.persona_ids)
    unknown = [p for p in ids if p not in present]
    if unknown:
        raise UserError(f"Persona {', '.join(map(str, unknown))} does not exist in this run "
                        f"(personas: {', '.join(map(str, sorted(present)))}).")


def apply_to_model(model: Any, edit: dict[str, Any]) -> dict[str, Any]:
    """Apply one edit to ``model`` (reference labels and names) and return the completed record.

    The returned record carries what a replay needs (``merges`` of a reduce, ``new_ids`` of a split).
    """
    action = edit.get("action")
    if action not in ACTIONS:
        raise UserError(f"Unknown persona edit {action!r}; expected one of {', '.join(ACTIONS)}.")
    edit = dict(edit)
    if action == "rename":
        _check_ids(model, [edit["persona_id"]])
        taken = {n for p, n in model.names_.items() if p != edit["persona_id"]}
        if edit["name"] in taken:
            raise UserError(f"Another persona is already called {edit['name']!r}; names must be unique.")
        model.names_[int(edit["persona_id"])] = edit["name"]
        model.fixed_names_.add(int(edit["persona_id"]))
    elif action == "merge":
        _merge(model, edit["persona_ids"], edit.get("name"))
    elif action == "split":
        edit["new_ids"] = _split(model, edit["persona_id"], edit["parts"], edit["seed"], edit.get("new_ids"))
    elif action == "keep_apart":  # a decision about the verdict: the personas stay as they are
        _check_ids(model, edit["persona_ids"])
    else:
        edit["merges"] = _reduce(model, edit["n"], edit.get("merges"))
    return edit


def replay(model: Any, edits: list[dict[str, Any]]) -> None:
    """Re-apply recorded edits in order (e.g. after loading a saved model)."""
    for edit in edits:
        apply_to_model(model, edit)


def _merge(model: Any, ids: list[int], name: str | None = None) -> None:
    ids = sorted(int(p) for p in ids)
    _check_ids(model, ids)
    into = ids[0]
    labels = model.reference_labels_.copy()
    labels[np.isin(labels, ids[1:])] = into
    model.set_reference_labels(labels)
    for other in ids[1:]:
        model.names_.pop(other, None)
        model.fixed_names_.discard(other)
    model.stale_names_.add(into)
    if name:
        model.names_[into] = name
        model.fixed_names_.add(into)
        model.stale_names_.discard(into)


def _split(model: Any, persona_id: int, parts: int, seed: int, new_ids: list[int] | None) -> list[int]:
    from sklearn.cluster import KMeans

    _check_ids(model, [persona_id])
    members = np.flatnonzero(model.reference_labels_ == persona_id)
    if len(members) < 2 * parts:
        raise UserError(f"Persona {persona_id} has too few reference accounts ({len(members)}) "
                        f"to split into {parts} parts.")
    kmeans = KMeans(n_clusters=parts, random_state=seed, n_init=10).fit(model.reference_X_[members])
    sizes = np.bincount(kmeans.labels_, minlength=parts)
    order = np.lexsort((np.arange(parts), -sizes))  # largest part first: it keeps the id
    if new_ids is None:
        start = max(model.all_ids_) + 1
        new_ids = list(range(start, start + parts - 1))
    ids = [int(persona_id)] + [int(p) for p in new_ids]
    labels = model.reference_labels_.copy()
    for rank, part in enumerate(order):
        labels[members[kmeans.labels_ == part]] = ids[rank]
    model.set_reference_labels(labels)
    model.all_ids_.update(ids)
    model.fixed_names_.discard(int(persona_id))
    model.stale_names_.update(ids)
    return ids[1:]


def centroid_similarity(model: Any) -> tuple[list[int], np.ndarray]:
    """Persona ids and the cosine similarity of their centroids (around the reference mean)."""
    ids = model.persona_ids
    centred = model.reference_X_ - model.reference_X_.mean(axis=0)
    centroids = np.vstack([centred[model.reference_labels_ == p].mean(axis=0) for p in ids])
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    unit = centroids / np.where(norms > 0, norms, 1.0)
    return ids, unit @ unit.T


def _reduce(model: Any, n: int, merges: list[list[int]] | None) -> list[list[int]]:
    if merges is None:
        merges = []
        while len(model.persona_ids) > n:
            ids, similarity = centroid_similarity(model)
            np.fill_diagonal(similarity, -np.inf)
            i, j = np.unravel_index(np.argmax(similarity), similarity.shape)
            pair = sorted([ids[i], ids[j]])
            _merge(model, pair)
            merges.append(pair)
        return merges
    for pair in merges:
        _merge(model, pair)
    return merges
