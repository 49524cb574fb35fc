"""First-fit time of UMAP in a fresh process, with and without the background warm-up.

    python -m benchmarks.warmup_check [--rows 2000 10000]
    python -m benchmarks.warmup_check --prepared [--rows 2000 10000]   # part of `make bench`

``--prepared`` answers issue 16's third target: in a fresh process that loads the app's prepared
compiled cache (``application.numba_cache``, as every CLI run, app start and test process does), how
much more does the first UMAP fit cost than the same fit again, warm? (Target: at most 3 s.) It reads
the cache ``make prepare`` filled and never writes elsewhere.

Each measurement runs in its own fresh interpreter. "cold" fits straight away (pays numba's
compilation); "warm" calls ``warm_up_in_background()`` as app.py does, waits for it, then fits (the
analyst's first click after the app has been open a few seconds). The warm-up's own duration is
reported too. ``NUMBA_CACHE_DIR`` points at a fresh folder for the first cold run ("empty disk
cache") and is reused for the second ("disk cache filled").
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
rows, mode = int(sys.argv[1]), sys.argv[2]
result = {}
if mode == "prepared":
    from application.numba_cache import enable_disk_cache
    enable_disk_cache()
if mode == "warm":
    from application.warmup import warm_up_in_background, wait_for_warm_up, warm_up_status
    t = time.perf_counter(); warm_up_in_background(); wait_for_warm_up()
    result["warm_up_s"] = round(time.perf_counter() - t, 2)
import numpy as np
from personas.discovery import umap_embedding
X = np.random.default_rng(1).normal(size=(rows, 20)).astype(np.float32)
t = time.perf_counter()
umap_embedding(X, n_neighbors=15, n_components=6, n_epochs=200, seed=42)
result["first_fit_s"] = round(time.perf_counter() - t, 2)
t = time.perf_counter()
umap_embedding(X, n_neighbors=15, n_components=6, n_epochs=200, seed=42 if mode == "prepared" else 43)
result["second_fit_s"] = round(time.perf_counter() - t, 2)
print(json.dumps(result))
"""


def measure(rows: int, mode: str, cache_dir: str | None) -> dict:
    env = dict(os.environ) if cache_dir is None else dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", CHILD, str(rows), mode], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--prepared", action="store_true",
                        help="fresh process on the app's prepared cache: first fit against the same fit warm")
    args = parser.parse_args(argv)
    if args.prepared:
        _prepared(args.rows)
        return
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as cache:
            rows_out = {"cold, empty disk cache": measure(rows, "cold", cache),
                        "cold, disk cache filled": measure(rows, "cold", cache),
                        "warm-up first (as app.py)": measure(rows, "warm", cache)}
        for label, values in rows_out.items():
            print(f"{rows:>7,} rows  {label:<28} {json.dumps(values)}")


def _prepared(sizes: list[int]) -> None:
    import platform

    print(f"First UMAP fit in a fresh process on the app's prepared cache, against the same fit warm "
          f"(target: at most 3 s more); load average {os.getloadavg()[0]:.2f}, {platform.node()}")
    print(f"{'rows':>8}  {'first fit (s)':>13}  {'same fit warm (s)':>17}  {'difference (s)':>14}  target")
    for rows in sizes:
        values = measure(rows, "prepared", None)
        gap = values["first_fit_s"] - values["second_fit_s"]
        print(f"{rows:>8,}  {values['first_fit_s']:>13.2f}  {values['second_fit_s']:>17.2f}  {gap:>14.2f}  "
              f"{'met' if gap <= 3.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
