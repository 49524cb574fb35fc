"""Fabricated run folders for tests that need a run's JSON and accounts but no fitted model.

They go through :func:`runs.save_run` like every real run (signed manifest, schema-checked), with
a stand-in persona model: the review and export code never reads it. Given ``portfolio``, the run
keeps it as a real run does (``portfolio.parquet``, recorded in run.json, with the column model
detected from it unless ``roles`` is given).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.hashing import sha256_bytes
from runs import PORTFOLIO, RunFolder, save_run

BASE_META = {"parent_run_id": None, "created_at": "2026-11-23T08:00:00Z", "created_by": None,
             "data_sha256": "ab" * 32, "source_name": "sample.csv",
             "columns": {"used": [], "excluded": []}, "parameters": {}, "seed": 42, "model": {},
             "edits": 0}


def save_fabricated_run(directory: Path, run_id: str, profiles: list[dict[str, Any]],
                        accounts: pd.DataFrame, portfolio: pd.DataFrame | None = None, **meta: Any) -> RunFolder:
    """Save a run folder with ``profiles`` and ``accounts``; ``meta`` overrides run.json fields.

    ``portfolio``: the run's accounts with their portfolio columns (``account_id`` and the rest, as
    ``Portfolio.frame`` has them), kept as ``portfolio.parquet`` like a real run keeps its own.
    """
    rows = {"read": len(accounts), "used": len(accounts)}
    document = dict(BASE_META, run_id=run_id, rows=rows,
                    metrics={"personas": len(profiles), "noise_share": 0.0})
    document.update(meta)
    kept = None
    if portfolio is not None:
        kept = _parquet(portfolio)
        if "roles" not in meta:
            from portfolio.roles import detect_roles

            document["roles"] = detect_roles(portfolio).to_dict()
        document["portfolio"] = {"file": PORTFOLIO, "sha256": sha256_bytes(kept),
                                 "data_sha256": document["data_sha256"], "rows": len(portfolio),
                                 "columns": [str(c) for c in portfolio.columns], "renamed": {}, "left_out": []}

    def write(staging: Path) -> None:
        (staging / "model").mkdir()
        (staging / "model" / "features.json").write_text("{}", encoding="utf-8")
        (staging / "model" / "persona_model.json").write_text("{}", encoding="utf-8")
        with open(staging / "model" / "reference.npz", "wb") as handle:
            np.savez(handle, X=np.zeros((0, 1), dtype=np.float32), base_labels=np.zeros(0, dtype=np.int64))
        (staging / "run.json").write_text(json.dumps(document), encoding="utf-8")
        (staging / "personas.json").write_text(json.dumps(profiles), encoding="utf-8")
        (staging / "edits.json").write_text("[]", encoding="utf-8")
        accounts.to_parquet(staging / "accounts.parquet", index=False)
        if kept is not None:
            (staging / PORTFOLIO).write_bytes(kept)

    return save_run(directory, write)


def _parquet(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
