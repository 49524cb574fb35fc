"""SHA-256 manifest of a run's artefacts: written at save time, checked before anything is loaded.

Only files this app wrote are ever loaded, and only after their hashes match the manifest, so a
changed or swapped file is refused with a clear message instead of being read.
"""
from __future__ import annotations

import json
from pathlib import Path

from portfolio.errors import UserError
from portfolio.hashing import sha256_file

MANIFEST = "model/manifest.json"



def write_manifest(run_dir: Path, files: list[str]) -> None:
    """Record the SHA-256 of each file (paths relative to ``run_dir``) in ``model/manifest.json``."""
    run_dir = Path(run_dir)
    entries = {name: sha256_file(run_dir / name) for name in files}
    (run_dir / MANIFEST).write_text(json.dumps({"algorithm": "sha256", "files": entries}, indent=2),
                                    encoding="utf-8")


def verify_manifest(run_dir: Path) -> dict[str, str]:
    """Check every file listed in the manifest; raise ``UserError`` naming the first that differs."""
    run_dir = Path(run_dir)
    manifest = run_dir / MANIFEST
    if not manifest.is_file():
        raise UserError(f"{run_dir}: not a saved run (no {MANIFEST}). Give the folder a "
                        "`personas run ... --out DIR` wrote.")
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError) as err:
        raise UserError(f"{manifest}: the manifest is damaged ({err}); re-run the analysis.") from None
    problems = []
    for name, expected in entries.items():
        path = (run_dir / name).resolve()
        if run_dir.resolve() not in path.parents:
            problems.append(f"{name}: outside the run folder; refused")
        elif not path.is_file():
            problems.append(f"{run_dir / name}: missing; the run is incomplete")
        elif sha256_file(path) != expected:
            problems.append(f"{run_dir / name}: changed since the run saved it (SHA-256 differs); "
                            "refusing to load it. Re-run the analysis to get a trustworthy model.")
    if problems:
        raise UserError(problems[0], lines=problems)
    return entries
