"""Persona recovery suite: does the app find planted personas on portfolios it was not tuned on?

    python -m benchmarks.recovery [--quick] [--seeds 3 4] [--worlds KEY ...] [--no-naive] [--no-uci]

For every world of :mod:`benchmarks.worlds` (and seed) it runs the app's own pipeline
(``application.pipeline.run_pipeline``: features, settings search, UMAP + HDBSCAN, consolidation,
k-NN assignment of every account, map, profiles) and reports, over ALL accounts:

* truth ARI of the app's personas against the planted ``true_persona``;
* on the SAME feature matrix (the run's ``FeatureBuilder`` output): k-means (``n_init=10``) and a
  Gaussian mixture (scikit-learn defaults: full covariance, ``n_init=1``), both TOLD the true number
  of personas;
* the naive UMAP + HDBSCAN (umap-learn ``fit_transform`` on all rows with its own 200 epochs, the
  app's neighbours / components / min_dist, HDBSCAN with 2 % of rows and min_samples 10; noise counted
  as one more label), as ``benchmarks.measure`` times it; left out above :data:`NAIVE_MAX_ROWS`;
* the number of personas found and the run's confidence and "settled" verdict (``run.json``
  ``metrics``: stability and k-means agreement, :mod:`personas.quality`), and across all worlds the
  Spearman rank correlation of confidence (and of stability alone) with truth ARI.

Real data: the UCI credit-card default data (``/work/shared/data`` or ``--uci``; CC BY 4.0), balance =
max(BILL_AMT1, 0), days past due = max(PAY_0, 0) x 30 as its README suggests. The outcome is never a
feature (its role is ``target``; SEX, AGE and MARRIAGE are protected and left out). Outcome
separation of the app's personas against k-means with the same number of clusters on the same
matrix: the share of outcome variance explained by the persona (eta squared of the 0/1 default flag)
and the ROC AUC of each account's persona default rate.

All runs share one process; numba is compiled before the clock starts (``application.warmup``), so
timings are warm. Results go to ``benchmarks/results/recovery.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
UCI = Path(os.environ.get("PERSONAS_UCI", "/work/shared/data/uci_taiwan_credit_card_default.csv"))
UCI_OUTCOME = "default.payment.next.month"
TARGETS = {"mean_ari": 0.80, "worst_ari": 0.65}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="persona recovery suite (planted personas, baselines, real data)")
    parser.add_argument("--quick", action="store_true", help="each world at its quick size, one seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default 3 4; --quick: 3)")
    parser.add_argument("--worlds", nargs="+", default=None, help="only these worlds (keys)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive UMAP + HDBSCAN baseline")
    parser.add_argument("--no-uci", action="store_true", help="skip the real data")
    parser.add_argument("--uci", type=Path, default=UCI, help="path of the UCI credit-card default CSV")
    parser.add_argument("--results", type=Path, default=RESULTS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------- one world
def baselines(X: np.ndarray, k: int, seed: int) -> dict[str, np.ndarray]:
    """k-means and a Gaussian mixture told ``k``, on the app's feature matrix."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmeans = KMeans(k, n_init=10, random_state=seed).fit_predict(X)
        gmm = GaussianMixture(k, random_state=seed).fit(X).predict(X)
    return {"kmeans": kmeans, "gmm": gmm}


def naive_labels(X_embed: np.ndarray, seed: int) -> np.ndarray:
    """umap-learn on all rows (200 epochs) + HDBSCAN, as the speed benchmark's naive pipeline."""
    import hdbscan
    import umap

    from personas.settings import DiscoverySettings

    s = DiscoverySettings()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedding = umap.UMAP(n_neighbors=s.n_neighbors, n_components=s.n_components, min_dist=0.0,
                              n_epochs=200, low_memory=True, random_state=seed).fit_transform(X_embed)
        return hdbscan.HDBSCAN(min_cluster_size=s.min_cluster_size(len(X_embed)),
                               min_samples=s.min_samples).fit_predict(embedding)


def role_problems(portfolio: Any, frame: pd.DataFrame) -> list[str]:
    """Columns of the world that the app did not read as intended (behaviour as feature, truth as truth)."""
    roles = portfolio.roles.roles
    problems = [f"{c}: {roles.get(c)}" for c in frame.columns
                if c not in ("account_id", "Aktenzeichen", "true_persona")
                and roles.get(c) not in ("feature", "balance", "days_past_due")
                and roles.get(portfolio.roles.renamed.get(c, c)) not in ("balance", "days_past_due")]
    if roles.get("true_persona") != "truth":
        problems.append(f"true_persona: {roles.get('true_persona')}")
    return problems


#: The naive baseline (UMAP on every row) is left out above this size: ~3 min at 200,000 accounts
#: on 2 cores; the speed benchmark (``benchmarks.run``) measures it at 100,000.
NAIVE_MAX_ROWS = 50_000


def measure_world(world: Any, rows: int, seed: int, naive: bool) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score as ari

    from application.pipeline import run_pipeline
    from personas.settings import RunSettings
    from portfolio.load import load_portfolio

    frame = world.make(rows, seed)
    portfolio = load_portfolio(frame, filename=f"{world.key}_{rows}_{seed}.csv")
    settings = RunSettings(truth_col="true_persona", seed=seed, language=world.language)
    started = time.perf_counter()
    result = run_pipeline(portfolio, settings)
    seconds = time.perf_counter() - started
    truth = portfolio.frame["true_persona"].to_numpy()
    labels = result.accounts["persona_id"].to_numpy()
    X = result.features
    found = baselines(X, world.personas, seed)
    metrics = result.meta["metrics"]
    row = {"world": world.key, "title": world.title, "language": world.language, "rows": rows, "seed": seed,
           "true_personas": world.personas, "app_personas": int(len(np.unique(labels))),
           "app_ari": float(ari(truth, labels)), "kmeans_ari": float(ari(truth, found["kmeans"])),
           "gmm_ari": float(ari(truth, found["gmm"])), "app_seconds": round(seconds, 1),
           "confidence": metrics.get("confidence"), "settled": metrics.get("settled"),
           "missing_cuts": metrics.get("missing_cuts"),
           "stability_ari": metrics.get("stability_ari"), "noise_share": metrics.get("noise_share"),
           "kmeans_agreement": metrics.get("kmeans_agreement"),
           "consolidation": {k: v for k, v in (getattr(result.model, "consolidation_", None) or {}).items()
                             if k != "tests"},
           "features": len(result.builder.feature_names_out_), "role_problems": role_problems(portfolio, frame)}
    if naive and rows <= NAIVE_MAX_ROWS:
        started = time.perf_counter()
        naive_found = naive_labels(result.builder.transform(portfolio.frame.reset_index(drop=True),
                                                            jitter_seed=seed), seed)
        row.update(naive_ari=float(ari(truth, naive_found)), naive_personas=int(naive_found.max() + 1),
                   naive_seconds=round(time.perf_counter() - started, 1))
    return row


# ---------------------------------------------------------------------------- real data
def outcome_separation(labels: np.ndarray, outcome: np.ndarray) -> dict[str, float]:
    """Share of outcome variance explained by the groups, and AUC of the group outcome rate."""
    from sklearn.metrics import roc_auc_score

    from personas.structure import correlation_ratio

    codes = pd.factorize(labels)[0]
    rate = (np.bincount(codes, weights=outcome) / np.bincount(codes))[codes]
    return {"variance_share": round(correlation_ratio(codes, outcome.astype(float)), 4),
            "auc": round(float(roc_auc_score(outcome, rate)), 4)}


def measure_uci(path: Path, seed: int) -> dict[str, Any]:
    from application.pipeline import run_pipeline
    from personas.settings import RunSettings
    from portfolio.load import load_portfolio

    frame = pd.read_csv(path)
    frame["balance"] = frame["BILL_AMT1"].clip(lower=0)
    frame["days_past_due"] = frame["PAY_0"].clip(lower=0) * 30
    portfolio = load_portfolio(frame, filename=path.name)
    started = time.perf_counter()
    result = run_pipeline(portfolio, RunSettings(seed=seed))
    seconds = time.perf_counter() - started
    outcome = portfolio.frame[UCI_OUTCOME].to_numpy().astype(int)
    labels = result.accounts["persona_id"].to_numpy()
    k = int(len(np.unique(labels)))
    kmeans = baselines(result.features, k, seed)["kmeans"] if k >= 2 else labels
    used = [c["column"] for c in result.meta["columns"]["used"]]
    return {"source": path.name, "rows": int(len(frame)), "seed": seed, "personas": k,
            "app": outcome_separation(labels, outcome), "kmeans_same_k": outcome_separation(kmeans, outcome),
            "confidence": result.meta["metrics"].get("confidence"), "settled": result.meta["metrics"].get("settled"),
            "missing_cuts": result.meta["metrics"].get("missing_cuts"), "app_seconds": round(seconds, 1), "features_used": used,
            "never_features": [c for c in ("SEX", "AGE", "MARRIAGE", UCI_OUTCOME) if c in used]}


# ---------------------------------------------------------------------------- report
def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from scipy.stats import spearmanr

    app = np.array([r["app_ari"] for r in rows])
    wins = [r for r in rows if r["app_ari"] >= max(r["kmeans_ari"], r["gmm_ari"]) - 1e-9]
    paired = [(r["confidence"], r["app_ari"]) for r in rows if r.get("confidence") is not None]
    rho = float(spearmanr(*zip(*paired))[0]) if len(paired) >= 3 else None
    stable = [(r["stability_ari"], r["app_ari"]) for r in rows if r.get("stability_ari") is not None]
    rho_stability = float(spearmanr(*zip(*stable))[0]) if len(stable) >= 3 else None
    naive = [r["naive_ari"] for r in rows if "naive_ari" in r]
    settled = [r["app_ari"] for r in rows if r.get("settled")]
    unsettled = [r["app_ari"] for r in rows if r.get("settled") is False]
    return {"mean_app_ari": float(app.mean()), "worst_app_ari": float(app.min()),
            "mean_kmeans_ari": float(np.mean([r["kmeans_ari"] for r in rows])),
            "mean_gmm_ari": float(np.mean([r["gmm_ari"] for r in rows])),
            "mean_naive_ari": float(np.mean(naive)) if naive else None, "naive_runs": len(naive),
            "runs_at_least_both_baselines": len(wins), "runs": len(rows),
            "confidence_spearman": rho, "stability_spearman": rho_stability, "mean_ari_settled": float(np.mean(settled)) if settled else None,
            "mean_ari_not_settled": float(np.mean(unsettled)) if unsettled else None,
            "settled_runs": len(settled)}


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _cuts(cuts: list[dict[str, Any]] | None) -> str:
    """Pairs of personas told apart only by a missing value (``personas.missing_cuts``): count and columns."""
    if cuts is None:
        return "–"
    return str(len(cuts)) + (f" ({', '.join(sorted({c['column'] for c in cuts}))})" if cuts else "")


def markdown(results: dict[str, Any]) -> str:
    rows, s = results["worlds"], results["summary"]
    out = ["# Persona recovery suite", "",
           f"Run {results['finished_at']} with `python -m benchmarks.recovery {' '.join(results['argv'])}`"
           f" ({results['machine']}); warm (numba compiled before the first run).", "",
           "| world | lang | rows | seed | personas (true) | app ARI | k-means ARI (true k) | GMM ARI (true k) "
           "| naive ARI (personas) | confidence | settled | missing-value cuts | app s |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        best = r["app_ari"] >= max(r["kmeans_ari"], r["gmm_ari"]) - 1e-9
        naive = f"{_f(r.get('naive_ari'))} ({r.get('naive_personas', '–')})" if "naive_ari" in r else "–"
        out.append(f"| {r['world']} | {r['language']} | {r['rows']:,} | {r['seed']} | {r['app_personas']} ({r['true_personas']}) "
                   f"| {'**' if best else ''}{_f(r['app_ari'])}{'**' if best else ''} | {_f(r['kmeans_ari'])} "
                   f"| {_f(r['gmm_ari'])} | {naive} | {_f(r['confidence'], 2)} "
                   f"| {'yes' if r['settled'] else 'no'} | {_cuts(r.get('missing_cuts'))} | {r['app_seconds']} |")
    out += ["", f"**Summary:** app truth ARI mean {_f(s['mean_app_ari'])} (k-means told k {_f(s['mean_kmeans_ari'])}, "
            f"GMM told k {_f(s['mean_gmm_ari'])}, naive {_f(s['mean_naive_ari'])} on the {s.get('naive_runs', '–')} runs "
            f"of at most {NAIVE_MAX_ROWS:,} accounts), worst {_f(s['worst_app_ari'])}; "
            f"at least both baselines (bold) in {s['runs_at_least_both_baselines']} of {s['runs']} runs. "
            f"Confidence vs truth ARI: Spearman {_f(s['confidence_spearman'], 2)} (stability alone "
            f"{_f(s.get('stability_spearman'), 2)}); mean truth ARI of settled runs "
            f"{_f(s['mean_ari_settled'])} ({s['settled_runs']}), of runs not settled {_f(s['mean_ari_not_settled'])}.",
            "", "**Targets (issue 15):**"]
    out += [f"* {line}" for line in results["targets"]]
    uci = results.get("uci")
    if uci:
        out += ["", f"**Real data** ({uci['source']}, {uci['rows']:,} rows, seed {uci['seed']}): {uci['personas']} personas "
                f"(confidence {_f(uci['confidence'], 2)}, {'settled' if uci['settled'] else 'not settled'}, missing-value cuts {_cuts(uci.get('missing_cuts'))}); share of outcome "
                f"variance explained {uci['app']['variance_share']:.3f} vs k-means same k {uci['kmeans_same_k']['variance_share']:.3f}; "
                f"AUC of the persona default rate {uci['app']['auc']:.3f} vs {uci['kmeans_same_k']['auc']:.3f}."]
    problems = [f"{r['world']}: {', '.join(r['role_problems'])}" for r in rows if r["role_problems"]]
    if problems:
        out += ["", "**Columns not read as intended:**", *[f"* {p}" for p in problems]]
    return "\n".join(out) + "\n"


def target_lines(s: dict[str, Any], rows: list[dict[str, Any]], uci: dict[str, Any] | None) -> list[str]:
    lost = [f"{r['world']} s{r['seed']}" for r in rows if r["app_ari"] < max(r["kmeans_ari"], r["gmm_ari"]) - 1e-9]
    lines = [f"truth ARI >= k-means and >= GMM (true k) on every world: {'met' if not lost else 'MISSED'}"
             + (f" (below a baseline: {', '.join(lost)})" if lost else ""),
             f"mean truth ARI >= {TARGETS['mean_ari']}: {'met' if s['mean_app_ari'] >= TARGETS['mean_ari'] else 'MISSED'} "
             f"({s['mean_app_ari']:.3f})",
             f"worst truth ARI >= {TARGETS['worst_ari']}: {'met' if s['worst_app_ari'] >= TARGETS['worst_ari'] else 'MISSED'} "
             f"({s['worst_app_ari']:.3f})",
             f"confidence rank correlation with truth ARI positive: "
             f"{'met' if (s['confidence_spearman'] or 0) > 0 else 'MISSED'} ({_f(s['confidence_spearman'], 2)})"]
    if uci:
        ok = uci["app"]["variance_share"] >= uci["kmeans_same_k"]["variance_share"] and \
            uci["app"]["auc"] >= uci["kmeans_same_k"]["auc"]
        lines.append(f"real data outcome separation >= k-means with the same k: {'met' if ok else 'MISSED'}")
    return lines


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, load average at start {load[0]:.2f}"


def main(argv: list[str] | None = None) -> int:
    from application.warmup import warm_up
    from benchmarks.worlds import WORLDS

    args = parse_args(argv)
    seeds = args.seeds or ([3] if args.quick else [3, 4])
    worlds = [w for w in WORLDS if not args.worlds or w.key in args.worlds]
    results: dict[str, Any] = {"argv": list(argv if argv is not None else sys.argv[1:]), "machine": machine(),
                               "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    warm_up()
    rows = []
    for seed in seeds:
        for world in worlds:
            size = world.quick_rows if args.quick else world.rows
            print(f"[{datetime.now():%H:%M:%S}] {world.key} ({size:,} rows, seed {seed})", flush=True)
            rows.append(measure_world(world, size, seed, naive=not args.no_naive))
            r = rows[-1]
            print(f"    app {r['app_ari']:.3f} ({r['app_personas']} of {r['true_personas']}) k-means {r['kmeans_ari']:.3f} "
                  f"GMM {r['gmm_ari']:.3f} naive {_f(r.get('naive_ari'))} confidence {_f(r['confidence'], 2)}", flush=True)
    uci = None
    if not args.no_uci and args.uci.exists():
        print(f"[{datetime.now():%H:%M:%S}] {args.uci.name}", flush=True)
        uci = measure_uci(args.uci, seeds[0])
    results.update(worlds=rows, uci=uci, summary=summary(rows),
                   finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    results["targets"] = target_lines(results["summary"], rows, uci)
    args.results.mkdir(parents=True, exist_ok=True)
    stem = "recovery_quick" if args.quick else "recovery"
    (args.results / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    (args.results / f"{stem}.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
