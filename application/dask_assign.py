"""Assign (and score) a portfolio larger than memory, partition by partition, on Dask.

``assign_partitioned(run_dir, source, out_dir)`` reads a Parquet file, folder or glob with
``dask.dataframe.read_parquet``, and on every partition does exactly what the single-process
``personas assign`` does to a whole file: read it through :func:`portfolio.load.load_portfolio`
(the same Parquet reader, number conversion, column roles and validation; rows with blocking
problems are left out), build the run's features, assign personas by the run's k-NN model (ids,
names and analyst edits kept) and, when the run has a risk model, add ``risk_score`` and ``reasons``
(:meth:`explain.risk.RiskResult.score`). Output is one Parquet file per partition in ``out_dir``
plus ``_assign.json`` (row counts, run id, model fingerprint; pyarrow and pandas skip files whose
name starts with ``_`` when reading the folder).

The run is opened once per worker process through :func:`runs.open_run` (signed manifest, every
file's SHA-256) and cached under the run's fingerprint, so a run changed on disk is never served
from a stale cache, and a worker refuses a run whose fingerprint differs from the job's.

Scheduler: ``None`` starts a :class:`distributed.LocalCluster` (2 worker processes, one thread each,
no dashboard) for the call; an address such as ``tcp://10.0.0.5:8786`` connects to a running
cluster whose workers can read ``run_dir``, ``source`` and ``out_dir`` (shared storage).

Every step is row-wise, so the result equals the single-process result row for row: risk scores,
personas and reasons (every account is explained, at every size, in both; exact TreeSHAP computed
in chunks, :func:`explain.shapley.compute_shap`).
"""
from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import UserError
from runs import open_run

_CACHE: dict[tuple[str, str], tuple[Any, Any, Any, str]] = {}
_CACHE_LOCK = threading.Lock()


# ---------------------------------------------------------------------------- the loaded run
def run_fingerprint(run_dir: str | Path) -> str:
    """The run's signed-manifest fingerprint (:attr:`runs.RunFolder.fingerprint`), the folder verified."""
    return open_run(run_dir).fingerprint


def load_for_assign(run_dir: str | Path, fingerprint: str | None = None) -> tuple[Any, Any, Any, str]:
    """``(model, builder, risk or None, run_id)`` of a run, loaded once per process and fingerprint.

    Every worker opens the run through :func:`runs.open_run` (signature and every file's SHA-256
    checked) and refuses it if its fingerprint differs from the one the job started with, so a run
    rewritten while it is being assigned is never mixed into one result.
    """
    from application.pipeline import load_model, load_risk

    run_dir = str(Path(run_dir).resolve())
    with _CACHE_LOCK:
        if fingerprint is None or (run_dir, fingerprint) not in _CACHE:
            folder = open_run(run_dir)
            if fingerprint is not None and folder.fingerprint != fingerprint:
                raise UserError(f"{run_dir}: the run changed while it was being assigned; start again.")
            model, builder, _ = load_model(folder)
            fingerprint = folder.fingerprint
            _CACHE[(run_dir, fingerprint)] = (model, builder, load_risk(folder), folder.run_id)
        return _CACHE[(run_dir, fingerprint)]


# ---------------------------------------------------------------------------- one partition
def assign_and_score(model: Any, builder: Any, frame: pd.DataFrame, risk: Any = None) -> pd.DataFrame:
    """The single-process assignment of a validated frame (``Portfolio.frame``), plus risk columns.

    Persona columns come from :func:`application.pipeline.assign_frame` (what ``assign_portfolio``
    returns: account_id, persona_id, persona_name, membership_probability, needs_review); with
    ``risk`` also ``risk_score`` (probability of NOT paying, 0..1) and ``reasons``, every row explained.
    """
    from application.pipeline import assign_frame

    frame = frame.reset_index(drop=True)
    assigned = assign_frame(model, builder, frame)
    if risk is not None:
        scores = risk.score(frame)  # every row explained (SHAP in chunks, reasons for all)
        assigned["risk_score"] = scores["risk_score"].to_numpy()
        assigned["reasons"] = scores["reasons"].to_numpy()
    return assigned


def _portfolio_of(part: pd.DataFrame, name: str, mapping: Any) -> Any:
    """Read a partition exactly as ``load_portfolio`` reads a Parquet file (same reader and checks)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from portfolio.load import load_portfolio

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(part.reset_index(drop=True), preserve_index=False), buffer)
    return load_portfolio(buffer.getvalue(), filename=name, mapping=mapping, max_bytes=2**62)


def assign_partition(part: pd.DataFrame, run_dir: str, fingerprint: str, score: bool, name: str,
                     mapping: Any = None, partition_info: dict | None = None) -> pd.DataFrame:
    """What each Dask task runs: validate the partition, assign, score."""
    model, builder, risk, _ = load_for_assign(run_dir, fingerprint)
    number = (partition_info or {}).get("number", 0)
    if len(part) == 0:
        return _empty(model, builder, risk if score else None)
    portfolio = _portfolio_of(part, f"{name} (partition {number})", mapping)
    if not portfolio.report.is_usable:
        lines = [p.message for p in getattr(portfolio.report, "errors", [])] or ["not usable"]
        raise UserError(f"{name}, partition {number}: {lines[0]}")
    return assign_and_score(model, builder, portfolio.frame, risk if score else None)


def _empty(model: Any, builder: Any, risk: Any) -> pd.DataFrame:
    columns = {"account_id": pd.Series(dtype="str"), "persona_id": pd.Series(dtype="int64"),
               "persona_name": pd.Series(dtype="str"), "membership_probability": pd.Series(dtype="float32"),
               "needs_review": pd.Series(dtype="bool")}
    if risk is not None:
        columns.update({"risk_score": pd.Series(dtype="float64"), "reasons": pd.Series(dtype="str")})
    return pd.DataFrame(columns)


# ---------------------------------------------------------------------------- the whole source
def _client(scheduler: str | None, workers: int, processes: bool):
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None, scheduler_port=0)
    return Client(cluster), cluster


def _source_paths(source: str | Path) -> str | list[str]:
    text = str(source)
    if any(ch in text for ch in "*?["):
        return text
    path = Path(text)
    if path.is_dir() or path.is_file():
        return str(path)
    raise UserError(f"{source}: no Parquet file, folder or glob match found.")


def assign_partitioned(run_dir: str | Path, source: str | Path, out_dir: str | Path,
                       scheduler: str | None = None, score: bool = True, *, mapping: Any = None,
                       blocksize: str | int | None = "64MiB", workers: int = 2,
                       processes: bool = True) -> dict[str, Any]:
    """Assign (and score) every account of ``source`` partition by partition; write Parquet to ``out_dir``.

    Parameters
    ----------
    run_dir : path
        A run directory written by ``personas run`` (hash-checked on every worker).
    source : path or glob
        A Parquet file, a folder of Parquet files, or a glob (``/data/book/*.parquet``); may be
        larger than memory (each partition is about ``blocksize`` of data).
    out_dir : path
        Folder for ``part.N.parquet`` (one per partition) and ``_assign.json``; replaced if it exists.
    scheduler : str, optional
        Address of a running Dask scheduler; ``None`` starts a local cluster for this call.
    score : bool
        Add ``risk_score`` and ``reasons`` when the run has a risk model.
    mapping : dict or path, optional
        Column mapping, as for ``personas assign --mapping``.

    Returns
    -------
    dict with rows, partitions, seconds, out_dir, run_id, scored, scheduler.
    """
    import dask.dataframe as dd

    run_dir = str(Path(run_dir).resolve())
    fingerprint = run_fingerprint(run_dir)
    model, builder, risk, run_id = load_for_assign(run_dir, fingerprint)
    scored = bool(score and risk is not None)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        _clear_output(out)
    started = time.perf_counter()
    client, cluster = _client(scheduler, workers, processes)
    try:
        source_paths = _source_paths(source)
        ddf = dd.read_parquet(source_paths, blocksize=blocksize)
        name = Path(str(source)).name
        meta = _meta_frame(model, builder, risk if scored else None)
        result = ddf.map_partitions(assign_partition, run_dir, fingerprint, scored, name, mapping,
                                    meta=meta, enforce_metadata=False)
        result.to_parquet(str(out), write_index=False, compute=True)
        rows = int(sum(pd.read_parquet(p, columns=["account_id"]).shape[0] for p in sorted(out.glob("*.parquet"))))
        summary = {"run_id": run_id, "run_fingerprint": fingerprint, "source": str(source), "rows": rows,
                   "partitions": int(ddf.npartitions), "scored": scored,
                   "scheduler": scheduler or f"LocalCluster({workers} workers, processes={processes})",
                   "seconds": round(time.perf_counter() - started, 2), "out_dir": str(out)}
        (out / "_assign.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return summary
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _meta_frame(model: Any, builder: Any, risk: Any) -> pd.DataFrame:
    meta = _empty(model, builder, risk)
    return meta


def _clear_output(out: Path) -> None:
    """Remove a previous output folder's Parquet parts (and nothing else)."""
    leftovers = [p for p in out.iterdir() if p.suffix != ".parquet" and p.name != "_assign.json"]
    if leftovers:
        raise UserError(f"--out {out}: the folder holds other files ({leftovers[0].name}, ...); "
                        "give an empty or new folder.")
    for path in out.iterdir():
        path.unlink()
