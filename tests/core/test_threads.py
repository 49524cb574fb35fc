"""core.threads: the cheap thread limit limits what threadpoolctl's own limit limits."""
from __future__ import annotations

import sys
import types

from threadpoolctl import threadpool_info

from core import threads
from core.threads import limit_threads


def _threads_by_api() -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for library in threadpool_info():
        found.setdefault(library["user_api"], set()).add(library["num_threads"])
    return found


def test_inside_the_block_every_blas_and_openmp_library_runs_one_thread_and_after_it_as_before():
    import sklearn.cluster  # noqa: F401  (loads scikit-learn's OpenMP runtime, as the callers do)

    before = _threads_by_api()
    with limit_threads(1):
        inside = _threads_by_api()
    assert inside and all(counts == {1} for counts in inside.values()), inside
    assert _threads_by_api() == before


def test_one_controller_is_kept_until_a_module_is_imported(monkeypatch):
    with limit_threads(1):
        pass
    kept = threads._controller
    with limit_threads(1, user_api="openmp"):
        pass
    assert threads._controller is kept, "entered again with nothing imported: the same controller"
    monkeypatch.setitem(sys.modules, "a_module_imported_since", types.ModuleType("a_module_imported_since"))
    with limit_threads(1):
        pass
    assert threads._controller is not kept, "a new import may bring a new library: a new controller"


def test_none_changes_nothing():
    before = _threads_by_api()
    with limit_threads(None):
        assert _threads_by_api() == before


def test_usable_cores_follow_the_affinity_not_the_host(monkeypatch):
    """A container pinned to two of a host's 64 cores: two, as OpenMP itself would take."""
    import os

    from core.threads import usable_cores

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert usable_cores() == 2
    monkeypatch.delattr(os, "sched_getaffinity")  # a system without affinity (macOS, Windows)
    assert usable_cores() == 64
