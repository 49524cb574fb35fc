"""The run folder: its files, its signed manifest, its identity; saved atomically, read only verified.

This module is the only code that knows how a run folder is laid out. Every reader (the pipeline,
the app, the review workflow and export, Dask workers) opens a run through :func:`open_run`, which
refuses the folder unless

* ``manifest.json`` is signed with the app's key (:mod:`runs.signing`), so rewriting a file *and*
  its hash is detected by whoever lacks the key;
* every file in the folder is listed in the manifest with its SHA-256, every listed file exists,
  the required files are there, and nothing in the folder is a symbolic link;
* ``run.json`` and ``personas.json`` match their JSON Schemas (:mod:`runs.schema`) and the run id
  in ``run.json`` is the one the manifest signs;
* ``portfolio.parquet`` (the run's copy of its portfolio) is there exactly when ``run.json`` has a
  ``portfolio`` section, and its SHA-256 is the one that section records.

Reads after that go through :class:`RunFolder`, which hashes the bytes it hands out, so a file
swapped between opening and reading is refused too. Nothing is ever unpickled: JSON, Parquet and
``.npz`` loaded with ``allow_pickle=False`` are the only formats.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from core.errors import UserError
from core.hashing import sha256_bytes, sha256_file
from runs import schema, signing
from runs.errors import RunFolderError

MANIFEST = "manifest.json"
RUN_JSON = "run.json"
PERSONAS_JSON = "personas.json"
ACCOUNTS = "accounts.parquet"
EDITS = "edits.json"
#: The run's own copy of its portfolio (direct identifiers left out); optional: older runs have none.
PORTFOLIO = "portfolio.parquet"
REQUIRED = (RUN_JSON, PERSONAS_JSON, ACCOUNTS, EDITS, "model/features.json",
            "model/persona_model.json", "model/reference.npz")
MANIFEST_FORMAT = 1
RUN_ID_PATTERN = r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{10}$"
_RUN_ID = re.compile(RUN_ID_PATTERN)
RERUN = "Re-run the analysis (`personas run … --out NEW_DIR` or Find personas in the app)."


# ---------------------------------------------------------------------------- identity
def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id: UTC time to the second plus 40 random bits, e.g. ``20261201-115000-3fa9c01b7e``."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(5)}"


def check_run_id(value: Any) -> str:
    """``value`` if it is a well-formed run id; never a path, never ``..``; else :class:`RunFolderError`."""
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise RunFolderError(f"{value!r} is not a run id (expected e.g. 20261201-115000-3fa9c01b7e); "
                             "run ids are made by the app, never taken from a file name.")
    return value


def run_path(root: str | Path, run_id: str) -> Path:
    """Folder of ``run_id`` under ``root`` (the workspace's runs folder): the id is checked first."""
    return Path(root) / check_run_id(run_id)


# ---------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class RunFolder:
    """An opened, verified run folder. Reads hash the bytes they return against the manifest.

    Attributes
    ----------
    path : Path
    run_id, parent_run_id : str, str or None
    files : dict
        Relative path -> SHA-256 of every file of the run.
    fingerprint : str
        SHA-256 of the signed manifest: changes whenever any file of the run changes. Caches of
        anything derived from the run are keyed by it.
    meta : dict
        ``run.json``.
    """

    path: Path
    run_id: str
    parent_run_id: str | None
    files: dict[str, str]
    fingerprint: str
    meta: dict[str, Any] = field(repr=False)

    def has(self, name: str) -> bool:
        return name in self.files

    def read_bytes(self, name: str) -> bytes:
        expected = self.files.get(name)
        if expected is None:
            raise RunFolderError(f"{self.path}: the run has no file {name}.")
        data = _read_regular(self.path, name)
        if sha256_bytes(data) != expected:
            raise RunFolderError(f"{self.path / name} changed since the run was saved (SHA-256 differs); "
                                 f"refusing to read it. {RERUN}")
        return data

    def read_text(self, name: str) -> str:
        return self.read_bytes(name).decode("utf-8")

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read_bytes(name))
        except ValueError as err:
            raise RunFolderError(f"{self.path / name} is not valid JSON ({err}). {RERUN}") from None

    def read_parquet(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.read_bytes(name)), columns=columns)

    def read_portfolio(self) -> pd.DataFrame | None:
        """The run's copy of its portfolio (``portfolio.parquet``), verified; ``None`` for a run saved
        without one (runs made before runs kept their portfolio stay readable)."""
        if PORTFOLIO not in self.files:
            return None
        return self.read_parquet(PORTFOLIO)

    def read_npz(self, name: str) -> dict[str, np.ndarray]:
        with np.load(io.BytesIO(self.read_bytes(name)), allow_pickle=False) as arrays:
            return {key: arrays[key] for key in arrays.files}

    @property
    def label(self) -> str:
        """How a person tells runs apart: time, source, id, and the parent of an edit."""
        text = f"{self.meta.get('created_at', '')} · {self.meta.get('source_name', '')} · {self.run_id}"
        return text + (f" · edit of {self.parent_run_id}" if self.parent_run_id else "")


def open_run(path: str | Path) -> RunFolder:
    """Open and verify a run folder (see the module docstring); :class:`RunFolderError` if it fails."""
    path = Path(path).expanduser().absolute()
    if path.is_symlink() or not path.is_dir():
        raise RunFolderError(f"{path}: not a run folder (missing, or a symbolic link). Give the folder "
                             "`personas run … --out DIR` wrote.")
    manifest_bytes = _read_regular(path, MANIFEST, missing=f"{path}: not a saved run (no {MANIFEST}); "
                                   f"runs saved before manifests were signed must be re-run. {RERUN}")
    manifest = _signed_manifest(path, manifest_bytes)
    files = manifest["files"]
    problems = _tree_problems(path, files)
    if problems:
        raise RunFolderError(problems[0], lines=problems)
    folder = RunFolder(path, manifest["run_id"], manifest["parent_run_id"], dict(files),
                       sha256_bytes(manifest_bytes), {})
    meta = folder.read_json(RUN_JSON)
    schema.check(meta, "run", f"{path / RUN_JSON}")
    schema.check(folder.read_json(PERSONAS_JSON), "personas", f"{path / PERSONAS_JSON}")
    if meta["run_id"] != folder.run_id or meta.get("parent_run_id") != folder.parent_run_id:
        raise RunFolderError(f"{path / RUN_JSON}: its run id differs from the signed manifest's. {RERUN}")
    problem = _portfolio_problem(meta, files)
    if problem:
        raise RunFolderError(f"{path}: {problem} {RERUN}")
    object.__setattr__(folder, "meta", meta)
    return folder


def _portfolio_problem(meta: dict[str, Any], files: dict[str, str]) -> str | None:
    """Why ``run.json``'s ``portfolio`` section and the folder's ``portfolio.parquet`` disagree, or ``None``."""
    section = meta.get("portfolio")
    if section is None:
        return f"{PORTFOLIO} is in the folder but run.json does not record it." if PORTFOLIO in files else None
    if PORTFOLIO not in files:
        return f"run.json records the run's portfolio, but {PORTFOLIO} is not part of the run."
    if section.get("sha256") != files[PORTFOLIO]:
        return f"{PORTFOLIO} is not the portfolio run.json records (SHA-256 differs)."
    return None


def manifest_fingerprint(path: str | Path) -> str:
    """SHA-256 of a run's manifest file, read without verifying the rest: a cheap key for caches of
    runs opened (and fully verified) through :func:`open_run`. Raises :class:`RunFolderError`."""
    return sha256_bytes(_read_regular(Path(path).expanduser().absolute(), MANIFEST,
                                      missing=f"{path}: not a saved run (no {MANIFEST}). {RERUN}"))


def _read_regular(folder: Path, name: str, missing: str | None = None) -> bytes:
    """Bytes of ``folder/name``, refusing symbolic links anywhere on the way and paths that leave it."""
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts:
        raise RunFolderError(f"{folder}: {name!r} points outside the run folder; refused.")
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for part in parts[:-1]:
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = next_fd
            file_fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        finally:
            os.close(fd)
        with os.fdopen(file_fd, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise RunFolderError(missing or f"{folder / name} is missing: the run is incomplete. {RERUN}") from None
    except OSError as err:  # ELOOP / ENOTDIR: a symbolic link where a file or folder should be
        raise RunFolderError(f"{folder / name}: cannot be read safely ({err.strerror}); a run folder "
                             f"holds no symbolic links. {RERUN}") from None


def _signed_manifest(path: Path, data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
        body, signature = manifest["body"], manifest["signature"]
        payload = _canonical(body)
    except (ValueError, KeyError, TypeError):
        raise RunFolderError(f"{path / MANIFEST} is damaged or from an older version of the app. {RERUN}") from None
    if not signing.is_signed_by_us(payload, signature):
        raise RunFolderError(f"{path}: the manifest's signature does not match this installation's key; "
                             f"the run was changed outside the app, or made by another installation. {RERUN}")
    if body.get("format") != MANIFEST_FORMAT or not isinstance(body.get("files"), dict):
        raise RunFolderError(f"{path / MANIFEST}: unknown manifest format. {RERUN}")
    check_run_id(body.get("run_id"))
    if body.get("parent_run_id") is not None:
        check_run_id(body["parent_run_id"])
    return body


def _tree_problems(path: Path, files: dict[str, str]) -> list[str]:
    """Symbolic links, unlisted files, missing files and hash mismatches, one line each."""
    problems, seen = [], set()
    for directory, subdirs, names in os.walk(path, followlinks=False):
        for name in subdirs + names:
            full = Path(directory) / name
            rel = full.relative_to(path).as_posix()
            if full.is_symlink():
                problems.append(f"{full}: a symbolic link inside a run folder; refused. {RERUN}")
            elif full.is_file() and rel != MANIFEST:
                seen.add(rel)
                if rel not in files:
                    problems.append(f"{full}: not part of the saved run (not in its signed manifest); "
                                    "remove it or re-run the analysis.")
                elif sha256_file(full) != files[rel]:
                    problems.append(f"{full}: changed since the run was saved (SHA-256 differs). {RERUN}")
    for rel in sorted(set(files) - seen):
        problems.append(f"{path / rel} is missing: the run is incomplete. {RERUN}")
    for rel in REQUIRED:
        if rel not in files:
            problems.append(f"{path}: the run lacks {rel}. {RERUN}")
    return problems


# ---------------------------------------------------------------------------- writing
def save_run(target: str | Path, write: Callable[[Path], None]) -> RunFolder:
    """Write a run atomically: ``write(staging)`` fills a fresh folder, which is checked, signed and
    renamed to ``target``.

    ``target`` must not exist (runs are never overwritten) and is never followed if it is a symbolic
    link. ``run.json`` written by ``write`` carries the run's id (:func:`new_run_id`) and
    ``parent_run_id``. On any failure nothing is left behind and nothing existing is touched.
    """
    target = Path(target).expanduser().absolute()
    _refuse_existing(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{target.name}-", dir=target.parent))
    try:
        write(staging)
        meta = json.loads((staging / RUN_JSON).read_text(encoding="utf-8"))
        schema.check(meta, "run", f"{RUN_JSON} of the run being saved")
        schema.check(json.loads((staging / PERSONAS_JSON).read_text(encoding="utf-8")), "personas",
                     f"{PERSONAS_JSON} of the run being saved")
        files = _hash_tree(staging)
        problem = _portfolio_problem(meta, files)
        if problem:
            raise RunFolderError(f"the run being saved is inconsistent: {problem} Nothing was written.")
        body = {"format": MANIFEST_FORMAT, "run_id": check_run_id(meta["run_id"]),
                "parent_run_id": meta.get("parent_run_id"), "files": files}
        manifest = {"body": body, "signature": signing.sign(_canonical(body))}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return open_run(target)


def _refuse_existing(target: Path) -> None:
    if os.path.lexists(target):
        raise RunFolderError(f"{target} exists already; a run is never written over another. Choose a "
                             "new output folder (or remove the old one yourself).")


def _place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target`` without ever replacing something that is there."""
    _refuse_existing(target)
    try:
        os.mkdir(target)  # atomic reservation: fails if anything (a folder, a link) appeared meanwhile
    except FileExistsError:
        _refuse_existing(target)
        raise
    try:
        os.rename(staging, target)  # replaces only our own, still empty reservation
    except OSError as err:
        raise RunFolderError(f"{target}: changed while the run was being saved ({err.strerror}); "
                             "nothing was written. Save again.") from None


def _hash_tree(folder: Path) -> dict[str, str]:
    files = {}
    for directory, subdirs, names in os.walk(folder, followlinks=False):
        for name in subdirs + names:
            full = Path(directory) / name
            if full.is_symlink():
                raise RunFolderError(f"{full}: a symbolic link cannot be part of a run.")
            if full.is_file():
                files[full.relative_to(folder).as_posix()] = sha256_file(full)
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise RunFolderError(f"the run being saved lacks {', '.join(missing)}; nothing was written.")
    return dict(sorted(files.items()))


def _canonical(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


# ---------------------------------------------------------------------------- listing
@dataclass(frozen=True)
class RunInfo:
    """One entry of the run list: where, which id, and whether it opened (``problem`` says why not)."""

    path: Path
    run_id: str
    parent_run_id: str | None
    created_at: str
    created_by: str
    source_name: str
    problem: str | None = None

    @property
    def label(self) -> str:
        text = f"{self.created_at} · {self.source_name} · {self.run_id}"
        if self.parent_run_id:
            text += f" · edit of {self.parent_run_id}" + (f" by {self.created_by}" if self.created_by else "")
        return text


def list_runs(root: str | Path) -> list[RunInfo]:
    """Runs under ``root``, newest first. A folder that fails its signature or ``run.json`` check is
    listed with its ``problem`` (so an altered run is visible, not silently hidden); the full check
    of every file happens when a run is opened."""
    root = Path(root)
    if not root.is_dir():
        return []
    infos = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or path.is_symlink() or not path.is_dir():
            continue
        infos.append(_info(path))
    return sorted(infos, key=lambda info: info.created_at, reverse=True)


def _info(path: Path) -> RunInfo:
    try:
        body = _signed_manifest(path, _read_regular(path, MANIFEST))
        folder = RunFolder(path, body["run_id"], body["parent_run_id"], body["files"], "", {})
        meta = folder.read_json(RUN_JSON)
        return RunInfo(path, folder.run_id, folder.parent_run_id, str(meta.get("created_at", "")),
                       str(meta.get("created_by") or ""), str(meta.get("source_name", "")))
    except UserError as err:
        return RunInfo(path, path.name, None, "", "", "", problem=str(err))


# ---------------------------------------------------------------------------- attaching outcomes
#: Folder of a run that takes files after the run was saved (payments, read-outs): nothing else may be added.
OUTCOMES = "outcomes"
_ATTACHED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def attach(path: str | Path, files: dict[str, bytes]) -> RunFolder:
    """Add files under ``outcomes/`` to a saved run and re-sign its manifest; return the run re-opened.

    The run is verified first (:func:`open_run`); every name must be ``outcomes/<name>`` (letters,
    digits, ``.``, ``_``, ``-``; no sub-folders) and new: an existing file is never changed or
    removed. The files are written next to the run, moved in without replacing anything, and the
    new signed manifest replaces the old one in one rename, under an exclusive lock on the run
    folder so two attaches cannot lose each other's files. Between moving the files in and
    replacing the manifest (two system calls) a reader opening the run is refused and must retry;
    if the process dies there, the run is refused on opening (files not in the manifest, named in
    the message) until they are removed; nothing that was there is lost.

    Raises
    ------
    RunFolderError
        For a run that does not verify, a name outside ``outcomes/`` or one that exists already.
    """
    import fcntl

    path = Path(path).expanduser().absolute()
    names = _attach_names(path, files)
    if path.is_symlink() or not path.is_dir():
        open_run(path)  # raises the usual message
    lock = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = open_run(path)  # verified under the lock: the manifest read here is the one replaced
        clash = [name for name in names if name in folder.files or os.path.lexists(path / name)]
        if clash:
            raise RunFolderError(f"{path}: {', '.join(clash)} exists already; an attached file is never "
                                 "replaced. Attach it under a new name.")
        body = {"format": MANIFEST_FORMAT, "run_id": folder.run_id, "parent_run_id": folder.parent_run_id,
                "files": dict(sorted({**folder.files, **{n: sha256_bytes(files[n]) for n in names}}.items()))}
        manifest = json.dumps({"body": body, "signature": signing.sign(_canonical(body))}, indent=1)
        _attach_files(path, names, files, manifest)
        return open_run(path)
    finally:
        os.close(lock)


def _attach_names(path: Path, files: dict[str, bytes]) -> list[str]:
    if not files:
        raise RunFolderError(f"{path}: nothing to attach.")
    names = []
    for name in files:
        parts = str(name).split("/")
        if len(parts) != 2 or parts[0] != OUTCOMES or not _ATTACHED_NAME.fullmatch(parts[1]) \
                or parts[1] in (".", ".."):
            raise RunFolderError(f"{path}: {name!r} cannot be attached to a run; only files named "
                                 f"{OUTCOMES}/<name> (letters, digits, '.', '_', '-') can be added after it was saved.")
        if not isinstance(files[name], (bytes, bytearray)):
            raise RunFolderError(f"{path}: {name} is not bytes; nothing was attached.")
        names.append(str(name))
    return names


def _attach_files(path: Path, names: list[str], files: dict[str, bytes], manifest: str) -> None:
    """Write to a staging folder beside the run, link each file in (never replacing), swap the manifest."""
    staging = Path(tempfile.mkdtemp(prefix=f".attach-{path.name}-", dir=path.parent))
    placed: list[Path] = []
    try:
        for name in names:
            (staging / Path(name).name).write_bytes(bytes(files[name]))
        (staging / MANIFEST).write_text(manifest, encoding="utf-8")
        for handle in [staging / Path(n).name for n in names] + [staging / MANIFEST]:
            with open(handle, "rb") as opened:
                os.fsync(opened.fileno())
        outcomes = path / OUTCOMES
        if outcomes.is_symlink() or (outcomes.exists() and not outcomes.is_dir()):
            raise RunFolderError(f"{outcomes}: not a folder (a symbolic link or a file); refused.")
        outcomes.mkdir(exist_ok=True)
        for name in names:
            _place_new_file(staging / Path(name).name, path / name)  # fails if the name appeared meanwhile
            placed.append(path / name)
        os.replace(staging / MANIFEST, path / MANIFEST)
    except BaseException:
        for target in placed:
            target.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place_new_file(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (never replacing it); copy with ``O_EXCL`` where links are not supported."""
    import errno

    try:
        os.link(source, target)
        return
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
