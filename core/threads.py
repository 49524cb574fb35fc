"""Limits on OpenMP and BLAS threads that cost nothing to enter.

threadpoolctl's ``threadpool_limits`` looks up every shared library the process has loaded each time
it is entered (~5 ms here), and a run enters such a limit dozens of times: k-means and Gaussian
mixtures on one thread each, 25 of them while the feature weights are learned alone (0.12 s of that
step's 0.8 s). :func:`limit_threads` keeps one ``ThreadpoolController``, as scikit-learn does for its
own limits, and builds it again only when modules were imported since it was built: a newly imported
module can bring an OpenMP or BLAS library that the old controller would not limit.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any

_lock = threading.Lock()
_controller: Any = None
_modules_seen = -1


def limit_threads(limits: int | None, user_api: str | None = None) -> Any:
    """Context manager: at most ``limits`` threads in the OpenMP and BLAS libraries (only those of
    ``user_api``, "openmp" or "blas", when given) while the block runs; ``None`` changes nothing."""
    return _current_controller().limit(limits=limits, user_api=user_api)


def _current_controller() -> Any:
    global _controller, _modules_seen
    from threadpoolctl import ThreadpoolController

    with _lock:
        if _controller is None or len(sys.modules) != _modules_seen:
            _controller = ThreadpoolController()
            _modules_seen = len(sys.modules)
        return _controller


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the system has one (a container pinned to
    two of a host's 64 cores has two), else ``os.cpu_count()``; what OpenMP takes by default too."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
