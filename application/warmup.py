"""Load (or, on a new machine, compile) numba's kernels in the background, not on the analyst's first click.

umap-learn compiles its numba kernels the first time they run in a process (measured on 2 cores:
about 12 s before a 2,000-row fit, 30 s before a 10,000-row fit). With the disk cache of
:mod:`application.numba_cache` this is paid once per machine and library version; a process then only
loads the compiled code. :func:`warm_up_in_background` starts a daemon thread that fits a tiny UMAP
and HDBSCAN through the discovery functions once per process, so even the loading happens while the
analyst is still reading the Portfolio page. ``python -m application.warmup`` prepares the cache
(``make run`` and ``make test`` call it).

>>> from application.warmup import warm_up_in_background
>>> warm_up_in_background()          # returns at once; idempotent      # doctest: +SKIP
"""
from __future__ import annotations

import threading
import time

from application.numba_cache import enable_disk_cache

# Points the warm-up fits: big enough for every code path, small enough to cost ~nothing but compilation.
WARM_UP_ROWS = 300
_lock = threading.Lock()
_state: dict[str, object] = {"thread": None, "seconds": None, "error": None}
_done = threading.Event()


def ensure_numba_cache_dir() -> str | None:
    """The folder numba caches in for this process (see :mod:`application.numba_cache`), or ``None``."""
    return enable_disk_cache()


def warm_up(rows: int = WARM_UP_ROWS, seed: int = 0) -> float:
    """Fit a tiny UMAP (clustering and map settings) and HDBSCAN now; return the seconds it took."""
    import numpy as np

    started = time.perf_counter()
    ensure_numba_cache_dir()

    from personas.discovery import hdbscan_labels, map_coordinates, umap_embedding

    X = np.random.default_rng(seed).normal(size=(rows, 8)).astype(np.float32)
    # The very functions discovery and the map use, so exactly their kernels are compiled (or loaded
    # from the disk cache, which is what makes a prepared machine's first fit fast).
    embedding = umap_embedding(X, n_neighbors=15, n_components=6, n_epochs=30, seed=seed)
    map_coordinates(X, seed, n_epochs=30)
    hdbscan_labels(embedding, min_cluster_size=15, min_samples=10)
    from explain.treeshap import warm_up as warm_up_shap

    warm_up_shap()  # the exact-SHAP kernel that explains every account (explain/treeshap.py)
    return time.perf_counter() - started


def _run_once() -> None:
    try:
        _state["seconds"] = warm_up()
    except Exception as err:  # a failed warm-up only means the first real fit compiles
        _state["error"] = repr(err)
    finally:
        _done.set()


def _import_in_this_thread() -> None:
    """Import what the warm-up and the pages import, before the warm-up thread starts.

    Two threads importing the same package chain at once can deadlock on import locks: the thread's
    ``import umap`` (-> scikit-learn -> narwhals) and a page's ``import altair`` (-> narwhals) raised
    importlib's ``_DeadlockError`` on ``narwhals.stable.v2`` about once in 14 starts. Importing here,
    once per process, costs a few seconds on the first page view and removes the race.
    """
    import altair  # noqa: F401
    import hdbscan  # noqa: F401
    import umap  # noqa: F401


def warm_up_in_background() -> threading.Thread:
    """Start the warm-up in a daemon thread once per process; later calls return the same thread.

    Safe to call on every Streamlit rerun: it returns immediately. The thread holds the GIL only
    while numba compiles and umap runs on 300 points; it never blocks the interpreter from exiting.
    """
    with _lock:
        thread = _state["thread"]
        if thread is None:
            ensure_numba_cache_dir()
            _import_in_this_thread()
            thread = threading.Thread(target=_run_once, name="numba-warm-up", daemon=True)
            _state["thread"] = thread
            thread.start()
        return thread  # type: ignore[return-value]


def wait_for_warm_up(timeout: float | None = None) -> bool:
    """Block until the background warm-up finished (True) or ``timeout`` seconds passed (False)."""
    return _done.wait(timeout)


def warm_up_status() -> dict[str, object]:
    """``{"started", "finished", "seconds", "error"}`` of this process's warm-up."""
    return {"started": _state["thread"] is not None, "finished": _done.is_set(),
            "seconds": _state["seconds"], "error": _state["error"]}


if __name__ == "__main__":  # `make run` / `make test`: prepare the machine's compiled cache once
    seconds = warm_up()
    print(f"numba cache {ensure_numba_cache_dir() or '(none: compiling in memory)'} prepared in {seconds:.1f} s")
