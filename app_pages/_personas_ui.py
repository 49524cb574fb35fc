"""Running the persona pipeline for the Personas page: cached per (data, mapping, settings), with progress.

A progress bar drawn from inside an ``st.cache_resource`` function cannot be replayed on a cache hit
(``CacheReplayClosureError`` on the second visit). Here the cache is a process-wide store of finished
runs, and the pipeline runs outside any cached function, so the progress display is ordinary.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import streamlit as st

from portfolio.workspace import runs_dir

MAX_RUNS = 8


@st.cache_resource(show_spinner=False)
def _finished_runs() -> OrderedDict:
    return OrderedDict()


def run_cached(portfolio: Any, settings: Any, mapping_json: str = "{}") -> Any:
    """The run for this portfolio and settings: from the store, or computed now with progress."""
    from personas.pipeline import run_pipeline

    key = (portfolio.sha256, mapping_json, repr(settings))
    store = _finished_runs()
    if key not in store:
        with st.status("Finding personas…", expanded=True) as status:
            bar = st.progress(0.0, text="Starting…")

            def progress(stage: str, fraction: float) -> None:
                bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{stage}…")

            result = run_pipeline(portfolio, settings, progress=progress)
            result.save(runs_dir() / result.run_id)
            status.update(label=f"Personas found ({result.meta['metrics']['personas']})", state="complete",
                          expanded=False)
        _count_pipeline_call()
        store[key] = result
        while len(store) > MAX_RUNS:
            store.popitem(last=False)
    result = store[key]
    st.session_state["run_dir"] = str(runs_dir() / result.run_id)
    return result


def _count_pipeline_call() -> None:
    try:
        from app_pages._state import PIPELINE_CALLS

        PIPELINE_CALLS["count"] += 1
    except ImportError:
        pass
