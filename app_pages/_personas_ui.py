"""Running the persona pipeline for the Personas page: cached per (data, mapping, settings), with progress;
and every account's map position for the aggregated map, cached per run.

A progress bar drawn from inside an ``st.cache_resource`` function cannot be replayed on a cache hit
(``CacheReplayClosureError`` on the second visit). Here the cache is a process-wide store of finished
runs, and the pipeline runs outside any cached function, so the progress display is ordinary.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from personas import mapview, views
from core.i18n import _
from core.workspace import runs_dir

MAX_RUNS = 8


@st.cache_resource(show_spinner=False)
def _finished_runs() -> OrderedDict:
    return OrderedDict()


#: Settings that do not change what a run finds: persona names come in every language in each run, so the
#: language a run was started in (its ``persona_name``) never makes another run (issue 18).
NOT_RUN_SETTINGS = ("language",)


def _run_settings(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k not in NOT_RUN_SETTINGS}


def _key(portfolio: Any, settings: Any, mapping_json: str) -> tuple[str, str, str]:
    as_json = json.dumps(_run_settings(settings.to_dict()), sort_keys=True, default=str)
    return portfolio.sha256, mapping_json, as_json


def settings_match(meta: dict, portfolio: Any, settings: Any) -> bool:
    """Whether a saved run (its ``run.json``) was made from ``portfolio`` with ``settings`` (the
    language of the pages is no run setting: a run started in English is the German reader's run too)."""
    if not meta or meta.get("data_sha256") != getattr(portfolio, "sha256", None):
        return False
    saved = (meta.get("parameters") or {}).get("settings")
    if saved is None:
        return False
    as_json = lambda value: json.dumps(value, sort_keys=True, default=str)  # noqa: E731 (tuples = lists)
    return as_json(_run_settings(saved)) == as_json(_run_settings(json.loads(as_json(settings.to_dict()))))


def finished_run(portfolio: Any, settings: Any, mapping_json: str = "{}", current: Any = None) -> Any:
    """The run for this portfolio and settings when it exists already (never computes): from the
    process-wide store, else ``current`` (the chosen run) when it was made from the same data and
    settings; ``None`` otherwise."""
    store = _finished_runs()
    key = _key(portfolio, settings, mapping_json)
    if key in store and (runs_dir() / store[key].run_id).is_dir():  # kept in this workspace
        result = store[key]
        st.session_state["run_dir"] = str(runs_dir() / result.run_id)
        return result
    base = current
    for _depth in range(50):  # an edited run is shown over the run it was edited from
        if base is None or not getattr(base, "parent_run_id", None):
            break
        parent = runs_dir() / base.parent_run_id
        if not parent.is_dir():
            return None
        from app_pages._state import _load_run
        from runs import manifest_fingerprint

        base = _load_run(str(parent), manifest_fingerprint(str(parent)))  # cached like the chosen run
    if base is not None and settings_match(base.meta, portfolio, settings):
        return base
    return None


def run_cached(portfolio: Any, settings: Any, mapping_json: str = "{}") -> Any:
    """The run for this portfolio and settings: from the store, or computed now with progress."""
    from application.pipeline import run_pipeline

    key = _key(portfolio, settings, mapping_json)
    store = _finished_runs()
    if key not in store or not (runs_dir() / store[key].run_id).is_dir():
        with st.status(_("Finding personas…"), expanded=True) as status:
            bar = st.progress(0.0, text=_("Starting…"))

            def progress(stage: str, fraction: float) -> None:
                bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{stage}…")

            result = run_pipeline(portfolio, settings, progress=progress)
            folder = result.save(runs_dir() / result.run_id, created_by=_username())
            record_saved_run(folder)  # every discovery run is an audit entry
            status.update(label=_("Personas found ({n})").format(n=result.meta["metrics"]["personas"]),
                          state="complete", expanded=False)
        _count_pipeline_call()
        store[key] = result
        while len(store) > MAX_RUNS:
            store.popitem(last=False)
    result = store[key]
    st.session_state["run_dir"] = str(runs_dir() / result.run_id)
    return result


def _username() -> str | None:
    from app_pages._state import current_user

    return getattr(current_user(), "username", None)


def record_saved_run(folder: Any, edit: dict | None = None) -> None:
    """Record a run (or persona edit) just saved by the signed-in user in the audit log."""
    from app_pages._state import current_user, get_store
    from strategy.run_view import load_run_view

    user = current_user()
    if user is not None:
        get_store().record_run(user, load_run_view(folder), edit=edit)


def _count_pipeline_call() -> None:
    try:
        from app_pages._state import PIPELINE_CALLS

        PIPELINE_CALLS["count"] += 1
    except ImportError:
        pass


@st.cache_data(show_spinner=False, max_entries=4)
def _all_coordinates(run_key: str, _run: Any, _portfolio: Any) -> np.ndarray:
    # Keyed by the run, not by its edits: edits change personas, never features or map positions.
    return mapview.place_all_accounts(_run.accounts, mapview.run_features(_run, _portfolio))


def all_accounts_on_map(run: Any, portfolio: Any) -> pd.DataFrame:
    """Every account of ``run`` with map coordinates (display sample from UMAP, the rest placed by
    their nearest display-sample neighbours); the placement runs once per run and is cached.

    Accounts keep NaN coordinates when the run's features cannot be had (a loaded run whose
    portfolio is not open); ``personas.mapview.map_caption`` then says only the sample is shown.
    """
    settings = json.dumps(run.meta.get("parameters", {}).get("settings", {}), sort_keys=True, default=str)
    # The open portfolio is part of the key: the rest of the accounts are placed only from the run's own data.
    key = f"{run.run_id}|{run.meta.get('data_sha256')}|{getattr(portfolio, 'sha256', None)}|{settings}"
    with st.spinner(_("Placing every account on the map…")):
        coordinates = _all_coordinates(key, run, portfolio)
    return mapview.with_coordinates(views.with_names(run.accounts), coordinates)  # names in the page's language
