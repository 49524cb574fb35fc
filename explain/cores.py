"""How many threads the risk step may use right now.

A run fits the risk model in a second process while persona discovery (single-threaded) runs in the
first, so the risk process uses one thread then. Once discovery is over the first process only
waits, and the second core is free: the run's risk process sets :data:`threads_hook` (see
``application.risk_step``), and the model fits and SHAP chunks that start after that use two.
Results do not depend on the number of threads (the trees and the SHAP values are the same).
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

#: When set, called before each fit and each SHAP chunk: the threads that may work now.
threads_hook: Callable[[], int] | None = None


def threads_now(default: int = 1) -> int:
    return max(default, threads_hook()) if threads_hook is not None else default


@contextmanager
def fit_threads() -> Iterator[None]:
    """OpenMP threads for one model fit: what :data:`threads_hook` allows now, else as set outside."""
    if threads_hook is None:
        yield
        return
    from core.threads import limit_threads

    with limit_threads(threads_now(1)) if threads_now(1) > 1 else nullcontext():
        yield
