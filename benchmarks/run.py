"""Side-by-side benchmark: this app's full ``run`` against the naive UMAP + HDBSCAN pipeline.

    python -m benchmarks.run                                  # 10k, 100k, 1M rows (15-25 min on 2 cores)
    python -m benchmarks.run --sizes 2000 10000 --naive-cap 300
    make bench

For every size a portfolio with planted personas is generated (``sample_data.generator``, fixed
seed) and written to Parquet once; then each pipeline runs in its own fresh subprocess
(:mod:`benchmarks.measure`), so peak memory and numba's compiled state are measured per pipeline:

* app: ``load_portfolio`` (read + validation) and ``run_pipeline`` with target ``paid_90d`` (personas,
  risk model, SHAP, fairness, profiles) and saving the run;
* naive: the same features (the app's ``FeatureBuilder``), umap-learn ``fit_transform`` on ALL rows and
  HDBSCAN on that embedding. The baseline is skipped at sizes whose predicted time (a power law
  through the sizes measured so far) exceeds ``--naive-cap`` seconds, and stopped if it runs past it.

Both pipelines warm numba up before their clock starts (as the app does at start-up), so the
timings exclude numba compilation for both; the warm-up's seconds are reported apart.
Writes ``benchmarks/results/latest.md`` and ``latest.json`` (partial results after each step).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
# The naive baseline twice: seeded (repeats exactly, like the app; the targets use it) and unseeded
# (umap-learn multi-threaded, fastest but not reproducible; reported alongside).
NAIVE_KINDS = {"naive": {"seeded": True}, "naive_fast": {"seeded": False}}
TARGETS = {"ratio_at_100k": 3.0, "ari_margin_at_100k": 0.02, "full_run_s_at_1m": 600.0, "peak_gb_at_1m": 6.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="portfolio rows")
    parser.add_argument("--naive-cap", type=float, default=600.0,
                        help="seconds the naive baseline may take per size (default 600)")
    parser.add_argument("--app-timeout", type=float, default=1800.0, help="seconds before the app run is stopped")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", choices=["app", "naive"], default=None, help="measure one pipeline only")
    parser.add_argument("--resume", action="store_true",
                        help="keep measurements already in latest.json for the same sizes and seed")
    parser.add_argument("--no-fast-naive", action="store_true", help="skip the unseeded naive variant")
    parser.add_argument("--max-fit-rows", type=int, default=None, help="override RunSettings.max_fit_rows (app)")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data", help="where generated portfolios go")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------- subprocesses
def run_child(kind: str, rows: int, seed: int, data: Path, out: Path, timeout: float,
              options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; ``{"error": ...}`` when it fails or times out."""
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.measure", kind, "--rows", str(rows), "--seed", str(seed),
               "--data", str(data), "--out", str(out), "--options", json.dumps(options or {})]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s (time cap)", "timed_out": True,
                "wall_s": round(time.perf_counter() - started, 1)}
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"error": " | ".join(tail) or f"exit code {done.returncode}",
                "wall_s": round(time.perf_counter() - started, 1)}
    result = json.loads(out.read_text(encoding="utf-8"))
    result["process_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def portfolio_file(rows: int, seed: int, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"portfolio_{rows}_seed{seed}.parquet"
    if not path.exists():
        info = run_child("prepare", rows, seed, path, data_dir / f".prepare_{rows}.json", timeout=1800)
        if "error" in info:
            raise RuntimeError(f"could not generate {rows} rows: {info['error']}")
    return path


def predict_naive_seconds(measured: dict[int, float], rows: int) -> tuple[float | None, str]:
    """Power law t = a * n^b through the two largest measured sizes (b = 1.2 from one size)."""
    points = sorted((n, t) for n, t in measured.items() if t and n < rows)
    if not points:
        return None, "no smaller size measured"
    if len(points) == 1:
        (n1, t1), b = points[0], 1.2
    else:
        (n0, t0), (n1, t1) = points[-2], points[-1]
        b = math.log(t1 / t0) / math.log(n1 / n0)
    predicted = t1 * (rows / n1) ** b
    return predicted, f"t ∝ n^{b:.2f} from {n1:,} rows ({t1:.0f} s)"


# ---------------------------------------------------------------------------- machine and report
def machine() -> dict[str, Any]:
    import psutil

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("umap-learn", "hdbscan", "pynndescent", "numba", "numpy", "pandas", "scikit-learn", "shap",
                 "pyarrow", "dask", "distributed", "psutil"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"cores": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1), "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform(), "versions": versions,
            "load_average_at_start": [round(v, 2) for v in load]}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for size in results["sizes"]:
        app = results["app"].get(str(size), {})
        naive = results["naive"].get(str(size), {})
        fast = results["naive_fast"].get(str(size), {})
        ratio = ratio_fast = None
        if app.get("full_run_s") and naive.get("persona_step_s"):
            ratio = naive["persona_step_s"] / app["full_run_s"]
        if app.get("full_run_s") and fast.get("persona_step_s"):
            ratio_fast = fast["persona_step_s"] / app["full_run_s"]
        rows.append({"rows": size, "app_full_run_s": app.get("full_run_s"), "app_persona_step_s": app.get("persona_step_s"),
                     "naive_persona_step_s": naive.get("persona_step_s"), "ratio": ratio,
                     "naive_fast_persona_step_s": fast.get("persona_step_s"), "ratio_fast": ratio_fast,
                     "naive_fast_truth_ari": fast.get("truth_ari"),
                     "app_truth_ari": app.get("truth_ari"), "naive_truth_ari": naive.get("truth_ari"),
                     "app_peak_gb": app.get("peak_rss_gb"), "naive_peak_gb": naive.get("peak_rss_gb"),
                     "app_note": app.get("error") or app.get("skipped"),
                     "naive_note": naive.get("error") or naive.get("skipped"),
                     "naive_fast_note": fast.get("error") or fast.get("skipped")})
    return rows


def check_targets(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    by_size = {r["rows"]: r for r in rows}
    r = by_size.get(100_000)
    if r and r["ratio"] is not None and r["app_truth_ari"] is not None and r["naive_truth_ari"] is not None:
        speed_ok = r["ratio"] >= TARGETS["ratio_at_100k"]
        ari_ok = r["app_truth_ari"] >= r["naive_truth_ari"] - TARGETS["ari_margin_at_100k"]
        lines.append(f"100,000 rows: full run {r['ratio']:.1f}x faster than the naive persona step "
                     f"(target >= 3x: {'met' if speed_ok else 'MISSED'}); truth ARI {r['app_truth_ari']:.3f} vs "
                     f"naive {r['naive_truth_ari']:.3f} (target >= naive - 0.02: {'met' if ari_ok else 'MISSED'}).")
    r = by_size.get(1_000_000)
    if r and r["app_full_run_s"] is not None:
        time_ok = r["app_full_run_s"] <= TARGETS["full_run_s_at_1m"]
        mem_ok = (r["app_peak_gb"] or 99) < TARGETS["peak_gb_at_1m"]
        lines.append(f"1,000,000 rows: full run {r['app_full_run_s'] / 60:.1f} min (target <= 10 min: "
                     f"{'met' if time_ok else 'MISSED'}); peak memory {r['app_peak_gb']:.2f} GB "
                     f"(target < 6 GB: {'met' if mem_ok else 'MISSED'}).")
    return lines


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    rows = summary_rows(results)
    out = ["# Benchmark: full run vs naive UMAP + HDBSCAN", "",
           f"Run {results['finished_at'] or results['started_at']} with `python -m benchmarks.run "
           f"--sizes {' '.join(str(s) for s in results['sizes'])} --naive-cap {results['naive_cap_s']:.0f}`.", "",
           "| rows | app full run (s) | app persona step (s) | naive persona step (s) | ratio | app truth ARI "
           "| naive truth ARI | app peak (GB) | naive peak (GB) | naive unseeded (s) | ratio unseeded |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        naive_time = _fmt(r["naive_persona_step_s"]) if r["naive_persona_step_s"] else \
            ("skipped" if r["naive_note"] else "–")
        out.append(f"| {r['rows']:,} | {_fmt(r['app_full_run_s'])} | {_fmt(r['app_persona_step_s'])} | {naive_time} | "
                   f"{_fmt(r['ratio'])}{'×' if r['ratio'] else ''} | {_fmt(r['app_truth_ari'], 3)} | "
                   f"{_fmt(r['naive_truth_ari'], 3)} | {_fmt(r['app_peak_gb'], 2)} | {_fmt(r['naive_peak_gb'], 2)} | "
                   f"{_fmt(r['naive_fast_persona_step_s']) if r['naive_fast_persona_step_s'] else ('skipped' if r['naive_fast_note'] else '–')} | "
                   f"{_fmt(r['ratio_fast'])}{'×' if r['ratio_fast'] else ''} |")
    notes = [f"* {r['rows']:,} rows, {who.replace('_fast', ' unseeded')}: {r[who + '_note']}" for r in rows
             for who in ("app", "naive", "naive_fast") if r[who + "_note"]]
    out += ["", "**Targets (issue 6):**", *[f"* {line}" for line in check_targets(rows)]]
    out += ["", "**How to read it.** *app full run*: reading and validating the Parquet file (`load_portfolio`), "
            "`run_pipeline` with target `paid_90d` (features, persona discovery on a stratified sample, assignment of "
            "every account, map, profiles, risk model with cross-validation, SHAP, fairness) and saving the run; "
            "the risk model runs in a second process alongside discovery (UMAP is seeded, hence single-threaded, "
            "so the second core is otherwise idle), and the clock stops only when both are done and saved. "
            "*app persona step*: the persona stages of that run (features, discovery, assignment, map, profiles). "
            "*naive persona step*: the app's features on all rows, umap-learn `fit_transform` on ALL rows (the app's "
            "neighbours, components and min_dist, umap-learn's own 200 epochs, and `random_state=seed`, so it repeats exactly like the app's run; umap-learn is then "
            "single-threaded) and HDBSCAN on the embedding. *naive unseeded*: the same without random_state "
            "(umap-learn multi-threaded on both cores: faster, but a different result every run). *ratio* = naive "
            "persona step ÷ app full run; the issue-6 targets use the seeded baseline. *truth ARI*: adjusted Rand index against the planted `true_persona` over "
            "all accounts (app: every account's assigned persona; naive: HDBSCAN labels with noise counted as one "
            "more label). *peak*: largest resident set size of the whole process tree (the fresh measuring process "
            "plus the app's risk-model process, summed while both run), file reading included. Numba compilation is **excluded** for both: each process warms numba up before its "
            "clock starts, as the app does at start-up (warm-up seconds in latest.json)."]
    if notes:
        out += ["", "**Notes:**", *notes]
    stage_lines = []
    for size in results["sizes"]:
        for who in ("app", "naive", "naive_fast"):
            stages = results[who].get(str(size), {}).get("stages_s")
            if stages:
                text = ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if k != "start")
                stage_lines.append(f"* {size:,} rows, {who.replace('_fast', ' unseeded')}: {text}")
    if stage_lines:
        out += ["", "**Wall time per stage (s):**", *stage_lines]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    out += ["", f"**Machine:** {m['cores']} cores, {m['ram_gb']} GB RAM, {m['cpu']}; Python {m['python']} "
            f"({m['platform']}); load average at start {m['load_average_at_start']}.", f"**Libraries:** {versions}.", ""]
    return "\n".join(out)


def write(results: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    results["summary"] = summary_rows(results)
    results["targets"] = check_targets(results["summary"])
    (folder / "latest.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    (folder / "latest.md").write_text(markdown(results), encoding="utf-8")


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "finished_at": None, "sizes": sorted(args.sizes), "seed": args.seed,
                               "naive_cap_s": args.naive_cap, "machine": machine(), "app": {}, "naive": {}, "naive_fast": {}}
    previous = args.results / "latest.json"
    if args.resume and previous.exists():
        old = json.loads(previous.read_text(encoding="utf-8"))
        if old.get("seed") == args.seed:
            for who in ("app", *NAIVE_KINDS):
                results[who] = {k: v for k, v in old.get(who, {}).items() if "error" not in v and "skipped" not in v}
    scratch = args.data_dir
    naive_times: dict[str, dict[int, float]] = {
        kind: {int(k): v["persona_step_s"] for k, v in results[kind].items() if v.get("persona_step_s")}
        for kind in NAIVE_KINDS}
    options = {"max_fit_rows": args.max_fit_rows} if args.max_fit_rows else {}
    for rows in sorted(args.sizes):
        print(f"[{datetime.now():%H:%M:%S}] {rows:,} rows: generating", flush=True)
        data = portfolio_file(rows, args.seed, scratch)
        for kind, naive_options in NAIVE_KINDS.items():
            if args.only not in (None, "naive") or str(rows) in results[kind]:
                continue
            if kind == "naive_fast" and args.no_fast_naive:
                continue
            predicted, how = predict_naive_seconds(naive_times[kind], rows)
            if predicted is not None and predicted > args.naive_cap:
                results[kind][str(rows)] = {"skipped": f"not run: predicted {predicted / 60:.0f} min ({how}), over "
                                            f"the {args.naive_cap:.0f} s cap", "predicted_s": round(predicted)}
            else:
                print(f"[{datetime.now():%H:%M:%S}] {rows:,} rows: {kind}", flush=True)
                measured = run_child("naive", rows, args.seed, data, scratch / f".{kind}_{rows}.json",
                                     timeout=args.naive_cap + 300, options=naive_options)
                if measured.get("persona_step_s", 0) > args.naive_cap:
                    measured["note"] = f"over the {args.naive_cap:.0f} s cap"
                results[kind][str(rows)] = measured
                if measured.get("persona_step_s"):
                    naive_times[kind][rows] = measured["persona_step_s"]
            write(results, args.results)
        if args.only in (None, "app") and str(rows) not in results["app"]:
            print(f"[{datetime.now():%H:%M:%S}] {rows:,} rows: app full run", flush=True)
            results["app"][str(rows)] = run_child("app", rows, args.seed, data, scratch / f".app_{rows}.json",
                                                  timeout=args.app_timeout, options=options)
            write(results, args.results)
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write(results, args.results)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
