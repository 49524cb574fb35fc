"""Numba's compiled kernels are cached on disk once per machine, in a folder the app owns."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COUNT_COMPILES = """
import numba, numba.core.dispatcher as D
compiled = []
original = D.compiler.compile_extra
def counting(*args, **kwargs):
    compiled.append(getattr(args[2], "__module__", "?"))
    return original(*args, **kwargs)
D.compiler.compile_extra = counting
numba.njit(lambda x: x + 1)(1)  # a function defined here always compiles: proves the counting works
from application.warmup import warm_up
from application.numba_cache import status
warm_up()
print(status()["folder"], sum(m.split(".")[0] in ("umap", "pynndescent", "hdbscan") for m in compiled),
      sum(m == "__main__" for m in compiled))
"""


def _fresh_process(env: dict[str, str]) -> tuple[str, int, int]:
    done = subprocess.run([sys.executable, "-c", COUNT_COMPILES], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    folder, compiled, here = done.stdout.split()
    return folder, int(compiled), int(here)


def test_a_fresh_process_compiles_no_umap_kernel_once_the_cache_is_prepared():
    """The session's cache is prepared here, in this process, as ``make prepare`` does (compiling
    only if no earlier run prepared it; the session's other fits then reuse the kernels), and a fresh
    process pointed at it loads every kernel instead of compiling it. (An empty cache compiling
    more than 20 kernels is what the warm-up test and every new machine show; compiling them all
    again in a throw-away folder cost this test 30 s to 3 min.)"""
    from application.numba_cache import status
    from application.warmup import warm_up

    warm_up()
    folder = status()["folder"]
    assert folder and len(list(Path(folder).rglob("*.nbi"))) > 20  # the kernels' cache index files
    env = dict(os.environ, NUMBA_CACHE_DIR=folder)
    again, compiled, here = _fresh_process(env)
    # Not one kernel compiles, including umap.utils.tau_rand / tau_rand_int, whose explicit signatures
    # compile them at import (application.numba_cache._decorators_that_cache).
    assert again == folder and here >= 1 and compiled == 0


def test_the_cache_folder_is_versioned_and_outside_the_workspace(monkeypatch, tmp_path):
    from application.numba_cache import cache_folder

    monkeypatch.setenv("PERSONAS_CACHE_DIR", str(tmp_path / "cache"))
    folder = cache_folder()
    assert folder.is_relative_to(tmp_path / "cache") and "numba0." in folder.name and "umap-learn" in folder.name


def test_a_cache_folder_in_the_workspace_or_writable_by_others_is_not_used(tmp_path):
    from application.numba_cache import _safe_folder

    assert not _safe_folder(Path(os.environ["PERSONAS_HOME"]) / "numba")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert not _safe_folder(shared)
    assert _safe_folder(tmp_path / "mine")


KERNEL_MODULE = '''
import numba

@numba.njit(cache=True)
def kernel(x):
    return x * {factor} + 1
'''
USE_KERNEL = """
import json, sys
from application.numba_cache import install_portable_locator
install_portable_locator()
sys.path.insert(0, sys.argv[1])
from nbpkg.kernels import kernel
value = kernel(20)
print(json.dumps({"value": value, "hits": sum(kernel.stats.cache_hits.values()),
                  "misses": sum(kernel.stats.cache_misses.values())}))
"""


def _kernel_in(folder: Path, factor: int) -> Path:
    package = folder / "nbpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "kernels.py").write_text(KERNEL_MODULE.format(factor=factor), encoding="utf-8")
    return folder


def _use_kernel(folder: Path, cache: Path) -> dict:
    import json

    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", USE_KERNEL, str(folder)], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_kernel_cached_in_one_installation_is_loaded_in_another_folder_and_a_changed_one_compiles(tmp_path):
    """A fresh clone's venv holds the same libraries in another folder: their kernels are found in the
    cache by package (``pkg-nbpkg``), not by folder. A changed source file is never served a stale entry:
    numba compares the source's SHA-256 and compiles it afresh."""
    cache = tmp_path / "cache"
    first = _use_kernel(_kernel_in(tmp_path / "install-a", factor=2), cache)
    assert first == {"value": 41, "hits": 0, "misses": 1}
    assert [p.name for p in cache.iterdir()] == ["pkg-nbpkg"]
    elsewhere = _use_kernel(_kernel_in(tmp_path / "install-b", factor=2), cache)
    assert elsewhere == {"value": 41, "hits": 1, "misses": 0}
    changed = _use_kernel(_kernel_in(tmp_path / "install-c", factor=3), cache)
    assert changed == {"value": 61, "hits": 0, "misses": 1}


def test_only_a_module_found_where_its_name_says_is_filed_by_package():
    from application.numba_cache import package_of

    assert package_of("umap.layouts", "/venv/lib/site-packages/umap/layouts.py") == "umap"
    assert package_of("umap", "/venv/lib/site-packages/umap/__init__.py") == "umap"
    assert package_of("explain.treeshap", "/clone/explain/treeshap.py") == "explain"
    assert package_of("__main__", "/clone/script.py") is None
    assert package_of("umap.layouts", "/somewhere/else/layouts.py") is None
    assert package_of("umap.layouts", "/venv/umap/layouts.pyc") is None
