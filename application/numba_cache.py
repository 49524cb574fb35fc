"""Numba's compiled code cached on disk, in a folder the app owns, so compilation is paid once per
machine and library version instead of once per process.

umap-learn's kernels are plain ``numba.njit`` functions without ``cache=True``: every new process (a
CLI run, the monthly batch job, an app restart, a test run) compiled them again, 20-30 s on two cores.
:func:`enable_disk_cache` points numba at :func:`cache_folder` and tells every module-level dispatcher
of umap-learn, pynndescent and hdbscan to cache before anything compiles. The persona code computes
nearest neighbours with scikit-learn (see :func:`personas.discovery._fit_umap`), so no kernel that
numba cannot cache is left on the path.

A compiled cache is code: it lives in ``PERSONAS_CACHE_DIR`` (default ``~/.cache/persona-collections``),
never in the workspace, in a sub-folder per Python, numba, umap-learn and pynndescent version (numba
itself also checks each entry against a SHA-256 of its source file and ignores stale ones).
A folder not owned by this user or writable by others is not used: numba then compiles in memory,
which is correct, merely slower.

Entries are found by package, not by the absolute folder a library is installed in
(:func:`install_portable_locator`): numba's own locator files each kernel under a hash of its source
file's folder, so a new virtual environment with the very same library versions (a fresh clone's
``make prepare``, CI, a reinstalled app) found nothing and compiled everything again (the warm-up of
a clean clone's ``make prepare`` took 19.9 s; 2.5-5.1 s with this). Whether an entry still fits its
source is numba's own check, a SHA-256 of the source file's content, which does not depend on where
the file lies.
"""
from __future__ import annotations

import contextlib
import os
import platform
import stat
import sys
import threading
from importlib import metadata
from pathlib import Path

from core.workspace import cache_dir, is_inside_workspace

PACKAGES = ("numba", "umap-learn", "pynndescent")
MODULES = ("umap", "pynndescent", "hdbscan")
_lock = threading.Lock()
_state: dict[str, object] = {"folder": None, "dispatchers": 0}


def cache_folder() -> Path:
    """``<app cache>/numba/py3.11-numba0.68.1-umap-learn0.5.12-pynndescent0.7.0`` (this machine's versions)."""
    parts = [f"py{platform.python_version()}"]
    for name in PACKAGES:
        try:
            parts.append(f"{name}{metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}-none")
    return cache_dir() / "numba" / "-".join(parts)


def _safe_folder(folder: Path) -> bool:
    """Create ``folder`` (0700) if needed; True if only this user can write it and it is outside the workspace."""
    if is_inside_workspace(folder):
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and os.access(folder, os.W_OK))


def usable_folder() -> str | None:
    """The folder :func:`enable_disk_cache` would use (``NUMBA_CACHE_DIR`` or :func:`cache_folder`) when it
    is safe to use, else ``None``; without importing umap-learn (for child processes' environments)."""
    folder = os.environ.get("NUMBA_CACHE_DIR") or str(cache_folder())
    return folder if _safe_folder(Path(folder)) else None


def enable_disk_cache() -> str | None:
    """Cache umap-learn's kernels on disk from now on in this process; return the folder or ``None``.

    Idempotent and thread-safe. Call it before the first UMAP fit of a process (the pipeline and the
    app's warm-up do). ``NUMBA_CACHE_DIR``, when set, is used as it is (the test suite sets it).
    """
    with _lock:
        if _state["folder"] is not None:
            return str(_state["folder"])
        folder = usable_folder()
        if folder is None:
            return None
        os.environ["NUMBA_CACHE_DIR"] = folder
        import numba.core.config as numba_config

        numba_config.CACHE_DIR = folder
        install_portable_locator()
        _state["dispatchers"] = _enable_dispatchers()
        _state["folder"] = folder
        return folder


@contextlib.contextmanager
def _decorators_that_cache():
    """While the libraries are imported, ``numba.njit``/``numba.jit`` default to ``cache=True``.

    Kernels declared with an explicit signature (umap-learn's ``tau_rand_int``, ``tau_rand``) compile
    the moment their module is imported, before :func:`_enable_dispatchers` can tell them to cache: every
    fresh process compiled them again (1.2-1.7 s measured per process). Defaulting ``cache`` during the
    import makes numba look them up in (and save them to) the cache folder instead. Modules imported
    before this point keep their dispatchers, which the loop below still switches to caching.
    """
    import numba

    originals = {"njit": numba.njit, "jit": numba.jit}

    def caching(decorator):
        def wrapper(*args, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if caller.split(".")[0] in MODULES:  # another thread's own kernels keep their choice
                kwargs.setdefault("cache", True)
            return decorator(*args, **kwargs)
        return wrapper

    for name, decorator in originals.items():
        setattr(numba, name, caching(decorator))
    try:
        yield
    finally:
        for name, decorator in originals.items():
            setattr(numba, name, decorator)


def enable_disk_cache_in_background() -> threading.Thread:
    """:func:`enable_disk_cache` in a daemon thread: importing umap-learn and hdbscan and loading their
    kernels (~2-3 s in a fresh process) overlaps what the caller does meanwhile, e.g. reading the
    portfolio, whose parser runs in a child process (``personas run`` calls this first). The
    pipeline's own call waits for it (same lock)."""
    thread = threading.Thread(target=enable_disk_cache, name="numba-cache", daemon=True)
    thread.start()
    return thread


def _enable_dispatchers() -> int:
    with _decorators_that_cache():
        import hdbscan  # noqa: F401  (imported so its dispatchers exist before they are told to cache)
        import umap  # noqa: F401
        import umap.layouts  # noqa: F401
        import umap.spectral  # noqa: F401
        import umap.umap_  # noqa: F401
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    enabled = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in MODULES:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Dispatcher) and isinstance(value._cache, NullCache):
                try:
                    value.enable_caching()
                    enabled += 1
                except Exception:  # a function numba cannot cache compiles in memory, as before
                    continue
    return enabled


def package_of(module: str, py_file: str) -> str | None:
    """The dotted package that holds ``module``'s source file ``py_file`` (``umap.layouts`` in
    ``.../umap/layouts.py``: ``umap``), or ``None`` when the file is not where the module's name says
    (``__main__``, a notebook cell, a frozen or zipped module): those keep numba's own locator."""
    parts = module.split(".") if module else []
    path = Path(py_file)
    if not parts or parts[0] == "__main__" or path.suffix != ".py":
        return None
    if path.name == "__init__.py":
        tail, package = [*parts, "__init__.py"], parts
    else:
        tail, package = [*parts[:-1], f"{parts[-1]}.py"], parts[:-1] or parts
    if list(path.parts[-len(tail):]) != tail:
        return None
    return ".".join(package)


def install_portable_locator() -> None:
    """Make numba file cached kernels under ``<cache folder>/pkg-<package>`` (idempotent, this process).

    Same folder for the same package wherever it is installed; numba still loads an entry only when
    its source file's SHA-256 equals the one stored with it, so a changed library compiles afresh.
    Functions outside a package (see :func:`package_of`) keep numba's own locator.
    """
    from numba.core import caching, config

    if any(getattr(cls, "_persona_portable", False) for cls in caching.CacheImpl._locator_classes):
        return

    class PortableCacheLocator(caching.UserProvidedCacheLocator):
        _persona_portable = True

        def __init__(self, py_func, py_file):
            super().__init__(py_func, py_file)
            package = package_of(getattr(py_func, "__module__", "") or "", py_file)
            self._cache_path = os.path.join(config.CACHE_DIR, f"pkg-{package}")

        @classmethod
        def from_function(cls, py_func, py_file):
            if not config.CACHE_DIR or package_of(getattr(py_func, "__module__", "") or "", py_file) is None:
                return None
            return super().from_function(py_func, py_file)  # numba's checks: file exists, folder writable

    caching.CacheImpl._locator_classes.insert(0, PortableCacheLocator)


def status() -> dict[str, object]:
    """``{"folder", "dispatchers"}``: where this process caches and how many kernels were told to."""
    return dict(_state)
