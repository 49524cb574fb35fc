"""One measurement in a fresh interpreter: generate a portfolio, or time the app's run or the naive baseline.

Called by :mod:`benchmarks.run` (``python -m benchmarks.measure KIND --rows N --data FILE --out JSON``),
one subprocess per measurement so that peak memory and numba's compiled state belong to that
measurement alone. Two modes, for both pipelines alike:

* fresh (``--options '{"fresh": true}'``): nothing runs before the clock but pointing numba at the
  app's prepared disk cache (:mod:`application.numba_cache`), so loading or compiling kernels is
  timed; ``process_s`` is the whole process, from interpreter start (imports included) to saved.
* warm (the default): :func:`application.warmup.warm_up` first (as the app's background warm-up
  does); its seconds are reported apart and are not part of any timed stage.

Peak memory is the largest resident set size of the whole process tree: this process's own peak
(``ru_maxrss``), the largest child's peak, and the sum over this process and its children sampled
every 0.1 s by a psutil thread (the app's run fits the risk model in a second process while persona
discovery runs, so both processes count); the samples also attribute the peak to a stage.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


class MemorySampler:
    """Samples this process's RSS in a thread; ``peak_by_stage`` attributes the peak to stages."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self._process = psutil.Process()
        self.interval = interval
        self.stage = "start"
        self.peak_by_stage: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            gb = self.tree_rss() / 2**30
            if gb > self.peak_by_stage.get(self.stage, 0.0):
                self.peak_by_stage[self.stage] = gb
            self._stop.wait(self.interval)

    def tree_rss(self) -> int:
        """RSS in bytes of this process plus its children (the run's risk-model process)."""
        import psutil

        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:  # the child ended between listing and reading
                pass
        return total


class StageClock:
    """Wall time per named stage, switched by ``start(stage)``; ``cpu_seconds``: this process's CPU
    time per stage (all its threads), which a busy machine inflates less than the wall time."""

    def __init__(self, sampler: MemorySampler | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._current: str | None = None
        self._since = time.perf_counter()
        self._cpu_since = time.process_time()
        self._sampler = sampler

    def start(self, stage: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if self._current is not None:
            self.seconds[self._current] = self.seconds.get(self._current, 0.0) + now - self._since
            self.cpu_seconds[self._current] = self.cpu_seconds.get(self._current, 0.0) + cpu - self._cpu_since
        self._current, self._since, self._cpu_since = stage, now, cpu
        if self._sampler is not None:
            self._sampler.stage = stage

    def stop(self) -> dict[str, float]:
        self.start("done")
        self._current = None
        return {k: round(v, 2) for k, v in self.seconds.items()}

    def cpu(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in self.cpu_seconds.items()}


def cpu_times() -> dict[str, float]:
    """CPU seconds (user + system) of this process since it started and of its finished children
    (the app's risk-model process once it has answered), for reading figures from a busy machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"process_cpu_s": round(own.ru_utime + own.ru_stime, 2),
            "children_cpu_s": round(children.ru_utime + children.ru_stime, 2)}


def peak_rss_gb(sampler: MemorySampler | None = None) -> float:
    """Peak memory in GB: the largest of this process's own peak (``ru_maxrss``, exact), its
    largest child's peak, and the sampled sum over the process tree (the app's run has a second
    process for the risk model while discovery runs, and both count)."""
    # ru_maxrss is in KiB on Linux.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    sampled = max(sampler.peak_by_stage.values(), default=0.0) if sampler is not None else 0.0
    return max(own, child, sampled)


def truth_ari(truth: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(truth, labels))


# ---------------------------------------------------------------------------- the measurements
def prepare(rows: int, seed: int, data: Path) -> dict[str, Any]:
    """Write the generated portfolio (planted personas) to ``data`` as Parquet."""
    from sample_data.generator import generate_portfolio, write_portfolio

    started = time.perf_counter()
    frame = generate_portfolio(rows, seed=seed)
    write_portfolio(frame, data)
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 2),
            "bytes": data.stat().st_size, "columns": len(frame.columns)}


def _warm_up(parallel_umap: bool = False) -> float:
    """Compile numba's kernels before the clock starts; ``parallel_umap`` also compiles the
    multi-threaded variants umap-learn uses without a random_state (the naive baseline)."""
    from application.warmup import warm_up

    started = time.perf_counter()
    warm_up()
    if parallel_umap:
        import warnings

        import umap

        X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for force in (False, True):
                umap.UMAP(n_neighbors=15, n_components=6, min_dist=0.0, n_epochs=30, low_memory=True,
                          force_approximation_algorithm=force).fit_transform(X)
    return round(time.perf_counter() - started, 2)


def _since_process_start() -> float:
    """Seconds since this interpreter was started (interpreter start, imports, everything)."""
    import psutil

    return time.time() - psutil.Process().create_time()


def _start(options: dict[str, Any], parallel_umap: bool = False) -> float | None:
    """Fresh (``options["fresh"]``): only point numba at the prepared disk cache, so loading (or
    compiling) kernels is inside the clock; warm: compile or load everything before the clock."""
    if options.get("fresh"):  # as `personas run` does: the kernels load while the portfolio is read
        from application.numba_cache import enable_disk_cache_in_background

        enable_disk_cache_in_background()
        return None
    return _warm_up(parallel_umap=parallel_umap)


def measure_app(rows: int, seed: int, data: Path, options: dict[str, Any]) -> dict[str, Any]:
    """The app's full ``run``: load_portfolio (read + validate) and run_pipeline with the target."""
    warm = None if options.get("fresh") else _warm_up()
    from application.pipeline import run_pipeline, start_early

    # What `personas run` does first: umap-learn's imports and kernels in a thread (fresh: loaded from the
    # prepared cache inside the clock; warm: already done) and, with a target, the risk-model process,
    # both overlapping the reading of the portfolio (application.pipeline.start_early).
    start_early(risk_process=options.get("prestart", True))
    from portfolio.load import load_portfolio
    from personas.settings import RunSettings

    settings = RunSettings(target="paid_90d", target_event="paid", truth_col="true_persona", seed=seed)
    if options.get("max_fit_rows"):
        settings = RunSettings(**{**settings.__dict__, "max_fit_rows": int(options["max_fit_rows"])})
    if options.get("discovery"):  # experiments only: DiscoverySettings fields to change, e.g. {"n_epochs": 80}
        settings = settings.with_discovery(**{k: tuple(v) if isinstance(v, list) else v
                                              for k, v in options["discovery"].items()})
    risk_settings = None
    if options.get("risk"):  # experiments only: RiskSettings fields to change, e.g. {"cv_folds": 2}
        from explain.settings import RiskSettings

        risk_settings = RiskSettings(**options["risk"])
    with MemorySampler() as sampler:
        clock = StageClock(sampler)
        started = time.perf_counter()
        clock.start("validation")
        portfolio = load_portfolio(data, max_bytes=2**31)
        progress_log: list[tuple[str, float]] = []

        def progress(stage: str, fraction: float) -> None:
            name = stage.split(":")[0].strip()
            if not progress_log or progress_log[-1][0] != name:
                progress_log.append((name, time.perf_counter() - started))
                clock.start(name)

        result = run_pipeline(portfolio, settings, progress=progress, risk_settings=risk_settings)
        clock.start("save")
        with tempfile.TemporaryDirectory() as folder:
            result.save(Path(folder) / "run")
        total = time.perf_counter() - started
        process_total = _since_process_start()
        stages = clock.stop()
    reasons = result.accounts["reasons"] if "reasons" in result.accounts else None
    meta = result.meta
    accounts = result.accounts
    truth = portfolio.frame[["account_id", "true_persona"]].merge(accounts[["account_id", "persona_id"]],
                                                                  on="account_id", how="left")
    return {
        "rows": rows, "warm_up_s": warm, "fresh": bool(options.get("fresh")),
        "numba_compilation_included": bool(options.get("fresh")),
        "full_run_s": round(total, 2), "process_s": round(process_total, 2),
        "stages_s": stages, "stages_cpu_s": clock.cpu(), **cpu_times(),
        "run_json_timings_s": meta.get("timings", {}),
        "accounts_with_reasons": None if reasons is None else int(
            (reasons.notna() & reasons.astype(str).str.len().gt(0)
             & ~reasons.astype(str).str.startswith("not explained")).sum()),
        "persona_step_s": round(_persona_step(meta.get("timings", {}), stages), 2),
        "truth_ari": truth_ari(truth["true_persona"].to_numpy(), truth["persona_id"].fillna(-2).to_numpy()),
        "truth_ari_run_json": (meta.get("metrics") or {}).get("truth_ari"),
        "personas": (meta.get("metrics") or {}).get("personas"),
        "noise_share": (meta.get("metrics") or {}).get("noise_share"),
        "confidence": (meta.get("metrics") or {}).get("confidence"),
        "settled": (meta.get("metrics") or {}).get("settled"),
        "missing_cuts": (meta.get("metrics") or {}).get("missing_cuts"),
        "fit_rows": (meta.get("model") or {}).get("fit_rows") or _fit_rows(meta),
        "peak_rss_gb": round(peak_rss_gb(sampler), 3),
        "peak_rss_gb_by_stage": {k: round(v, 3) for k, v in sampler.peak_by_stage.items()},
        "rows_usable": int(len(portfolio.frame)),
    }


NAIVE_UMAP_EPOCHS = 200  # umap-learn's default above 10,000 rows (n_epochs=None)
PERSONA_STAGES = ("features", "discovery", "map", "assign", "profiles")


def _persona_step(timings: dict[str, float], stages: dict[str, float]) -> float:
    """Seconds of the persona part of the run (features, discovery, assignment, map, profiles)."""
    source = timings if any(k in timings for k in PERSONA_STAGES) else stages
    return float(sum(v for k, v in source.items()
                     if isinstance(v, (int, float)) and any(k.startswith(s) for s in PERSONA_STAGES)))


def _fit_rows(meta: dict[str, Any]) -> Any:
    params = meta.get("parameters") or {}
    return params.get("fit_rows") or (params.get("discovery") or {}).get("fit_rows")


def measure_naive(rows: int, seed: int, data: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Naive baseline: the app's features on all rows, umap-learn fit_transform on ALL rows, HDBSCAN.

    UMAP gets the app's neighbours, components and min_dist (n_neighbors 15, 6 components, min_dist
    0) and umap-learn's own 200 epochs (``NAIVE_UMAP_EPOCHS``), fixed here so that tuning the app's
    epochs never moves the baseline.
    ``options["seeded"]`` True (the default): ``random_state=seed``, so the result repeats exactly
    like the app's (umap-learn then runs single-threaded); False: no random_state, multi-threaded
    (umap-learn's fastest mode, not reproducible). HDBSCAN uses the app's min_cluster_size rule
    (2 % of rows) and min_samples 10.
    """
    import hdbscan
    import umap

    from personas.features import FeatureBuilder, feature_columns
    from personas.settings import DiscoverySettings
    from portfolio.load import load_portfolio

    s = DiscoverySettings()
    seeded = bool(options.get("seeded", True))
    warm = _start(options, parallel_umap=not seeded)
    with MemorySampler() as sampler:
        clock = StageClock(sampler)
        started = time.perf_counter()
        clock.start("validation")
        portfolio = load_portfolio(data, max_bytes=2**31)
        persona_started = time.perf_counter()
        clock.start("features")
        frame = portfolio.frame
        builder = FeatureBuilder(feature_columns(frame, portfolio.roles), categorical_weight=s.categorical_weight,
                                 max_levels=s.max_levels, rare_level_share=s.rare_level_share).fit(frame)
        X = builder.transform(frame, jitter_seed=seed)
        clock.start("umap")
        embedding = umap.UMAP(n_neighbors=s.n_neighbors, n_components=s.n_components, min_dist=0.0,
                              n_epochs=NAIVE_UMAP_EPOCHS, low_memory=True,
                              random_state=seed if seeded else None).fit_transform(X)
        clock.start("hdbscan")
        labels = hdbscan.HDBSCAN(min_cluster_size=s.min_cluster_size(len(X)),
                                 min_samples=s.min_samples).fit_predict(embedding)
        persona_step = time.perf_counter() - persona_started
        process_total = _since_process_start()
        stages = clock.stop()
    return {
        "rows": rows, "warm_up_s": warm, "fresh": bool(options.get("fresh")),
        "numba_compilation_included": bool(options.get("fresh")), "seeded": seeded,
        "persona_step_s": round(persona_step, 2), "process_s": round(process_total, 2), "stages_s": stages,
        "stages_cpu_s": clock.cpu(), **cpu_times(),
        "truth_ari": truth_ari(frame["true_persona"].to_numpy(), labels),
        "truth_ari_note": "over all accounts; HDBSCAN noise (-1) counted as one more label",
        "personas": int(labels.max() + 1), "noise_share": float(np.mean(labels < 0)),
        "peak_rss_gb": round(peak_rss_gb(sampler), 3),
        "peak_rss_gb_by_stage": {k: round(v, 3) for k, v in sampler.peak_by_stage.items()},
    }


KINDS: dict[str, Callable[..., dict[str, Any]]] = {"app": measure_app, "naive": measure_naive}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one benchmark measurement (used by benchmarks.run)")
    parser.add_argument("kind", choices=["prepare", *KINDS])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--options", default="{}", help="JSON options (e.g. max_fit_rows)")
    args = parser.parse_args(argv)
    if args.kind == "prepare":
        result = prepare(args.rows, args.seed, args.data)
    else:
        result = KINDS[args.kind](args.rows, args.seed, args.data, json.loads(args.options))
    result["pid"] = os.getpid()
    args.out.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
