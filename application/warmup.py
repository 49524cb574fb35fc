"""Pay numba's compilation once per process, in the background, not on the analyst's first click.

umap-learn and pynndescent compile their numba kernels the first time they run in a process
(measured on 2 cores: about 12 s before a 2,000-row fit, 30 s before a 10,000-row fit).
:func:`warm_up_in_background` starts a daemon thread that fits a tiny UMAP (both the exact
nearest-neighbour path used below 4,096 rows and the NN-descent path used above it) and a tiny
HDBSCAN once per process, so the kernels are compiled while the analyst is still reading the
Portfolio page. :func:`ensure_numba_cache_dir` points ``NUMBA_CACHE_DIR`` at a writable folder of
the app's own (outside the workspace) when it is unset, so functions numba may cache on disk (pynndescent's ``cache=True``
kernels) are reused across processes too; umap-learn's own kernels are not cacheable and are
compiled again in every new process (the warm-up covers those).

>>> from application.warmup import warm_up_in_background
>>> warm_up_in_background()          # returns at once; idempotent      # doctest: +SKIP
"""
from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

from core.workspace import cache_dir, is_inside_workspace

# Points the warm-up fits: big enough for every code path, small enough to cost ~nothing but compilation.
WARM_UP_ROWS = 300
_lock = threading.Lock()
_state: dict[str, object] = {"thread": None, "seconds": None, "error": None}
_done = threading.Event()


def default_cache_dir() -> Path:
    """``<app cache>/numba`` (:func:`core.workspace.cache_dir`): compiled code is code, so it lives
    where the app alone writes, never in the workspace that analysts and the run folders share."""
    return cache_dir() / "numba"


def ensure_numba_cache_dir(path: str | os.PathLike | None = None) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to a writable folder unless it is already set; return the folder.

    Must run before numba compiles anything cacheable (numba reads the variable when it first
    caches); later calls leave an existing setting alone. Returns ``None`` when no folder is writable
    (numba then compiles in memory only, which is correct, merely slower).
    """
    current = os.environ.get("NUMBA_CACHE_DIR")
    if current:
        return current
    folder = Path(path) if path is not None else default_cache_dir()
    if is_inside_workspace(folder):
        return None  # a cache others can write would be code they can plant: compile in memory
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(folder.resolve())
    try:  # numba already imported: its config was read at import time, so update it too
        import numba.core.config as numba_config

        numba_config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
    except Exception:  # numba missing or changed: the environment variable still applies to new processes
        pass
    return os.environ["NUMBA_CACHE_DIR"]


def warm_up(rows: int = WARM_UP_ROWS, seed: int = 0) -> float:
    """Fit a tiny UMAP (exact and NN-descent paths) and HDBSCAN now; return the seconds it took."""
    import numpy as np

    started = time.perf_counter()
    ensure_numba_cache_dir()
    import hdbscan
    import umap

    X = np.random.default_rng(seed).normal(size=(rows, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The settings mirror personas.discovery: n_jobs=1, low_memory, min_dist 0 (clustering) and
        # 0.1 (map); force_approximation_algorithm compiles the NN-descent kernels that real
        # portfolios above 4,096 fitted rows use.
        for force, components, min_dist in ((False, 6, 0.0), (True, 2, 0.1)):
            embedding = umap.UMAP(n_neighbors=15, n_components=components, min_dist=min_dist, n_epochs=30,
                                  random_state=seed, n_jobs=1, low_memory=True,
                                  force_approximation_algorithm=force).fit_transform(X)
        hdbscan.HDBSCAN(min_cluster_size=15, min_samples=10, core_dist_n_jobs=1,
                        gen_min_span_tree=True).fit(embedding)
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
