"""Saving and loading the risk artefacts with a SHA-256 manifest.

Only files this app wrote are ever unpickled, and only after their hash matches the manifest written
next to them; a changed or foreign file is refused before it is read.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from portfolio.errors import UserError
from portfolio.hashing import sha256_file

MANIFEST = "risk/manifest.json"  # relative to the run directory


class ArtefactError(UserError):
    """A saved risk artefact is missing or does not match its recorded hash."""



def write_manifest(folder: Path, files: list[str]) -> dict[str, str]:
    """Record the SHA-256 of ``files`` (paths relative to ``folder``) in ``folder/risk/manifest.json``."""
    (folder / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    hashes = {name: sha256_file(folder / name) for name in sorted(files)}
    (folder / MANIFEST).write_text(json.dumps({"sha256": hashes}, indent=2), encoding="utf-8")
    return hashes


def verified(folder: Path, name: str) -> Path:
    """``folder/name`` after checking it against the manifest; raises :class:`ArtefactError`."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise ArtefactError(f"{folder} has no {MANIFEST}; the risk model cannot be trusted or loaded.")
    expected = json.loads(manifest_path.read_text(encoding="utf-8")).get("sha256", {}).get(name)
    path = folder / name
    if expected is None or not path.exists():
        raise ArtefactError(f"The risk artefact {path} is missing or not listed in the manifest.")
    if sha256_file(path) != expected:
        raise ArtefactError(f"The risk artefact {path} was changed after it was saved (SHA-256 differs); "
                            "refusing to load it. Re-run the analysis.")
    return path


def dump_pickle(obj: Any, path: Path) -> None:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)


def load_verified_pickle(folder: Path, name: str) -> Any:
    path = verified(folder, name)
    with open(path, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - hash-checked artefact written by this app


def load_verified_json(folder: Path, name: str) -> Any:
    return json.loads(verified(folder, name).read_text(encoding="utf-8"))
