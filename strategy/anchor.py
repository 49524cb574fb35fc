"""The audit log's head, anchored outside the database.

Whoever can write the database file can delete its newest entries and fix the recorded head, rewrite
the whole chain with recomputed hashes, or put back an older copy of the file; none of that breaks
the chain itself. After every committed audit entry the store therefore writes a *signed
checkpoint* ``{database_id, seq, entry_hash, time}`` to a file outside the database and outside the
workspace: ``<anchor dir>/<SHA-256 of the database URL>.json``, where the anchor folder is
``PERSONAS_AUDIT_ANCHOR_DIR`` or ``<config dir>/audit-anchors`` (mode 0700, files 0600), and the
signature is HMAC-SHA256 with the app's key (:mod:`runs.signing`). The checkpoint only moves forward
(a lock file serialises writers; a lower ``seq`` never replaces a higher one).

:func:`strategy.audit.verify_chain` then requires the anchored entry to be in the log with the same
hash, and the database to carry the checkpoint's random ``database_id``: a truncated log, a
recomputed rewrite, a restored older database and a database replaced by another all fail. The log
may be ahead of the checkpoint only by entries committed in the instant before a crash.

Trusted: whoever can write the anchor folder or read the key (the app's service account).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from core.workspace import config_dir, is_inside_workspace
from strategy.canonical import canonical_json

ANCHOR_DIR_ENV = "PERSONAS_AUDIT_ANCHOR_DIR"
_DOMAIN = b"audit-anchor\0"


class AnchorError(UserError):
    """The anchor folder is unsafe or a checkpoint cannot be trusted."""


@dataclass(frozen=True)
class Checkpoint:
    """The newest anchored audit entry of one database."""

    database_id: str
    seq: int
    entry_hash: str
    time: str


def anchor_dir() -> Path:
    """Folder of the checkpoints: ``PERSONAS_AUDIT_ANCHOR_DIR`` or ``<config dir>/audit-anchors``."""
    explicit = os.environ.get(ANCHOR_DIR_ENV)
    path = Path(explicit).expanduser().resolve() if explicit else config_dir() / "audit-anchors"
    if is_inside_workspace(path):
        raise AnchorError(f"the audit anchor folder {path} lies inside the workspace, where whoever "
                          f"can write runs could change it; set {ANCHOR_DIR_ENV} to a folder "
                          "outside it.")
    return path


def anchor_file(url: str) -> Path:
    """The checkpoint file of the database at ``url`` (named by the URL without its password)."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy knows: name it by the text
        shown = str(url)
    return anchor_dir() / f"{hashlib.sha256(shown.encode('utf-8')).hexdigest()[:32]}.json"


def _signature(fields: dict) -> str:
    from runs.signing import sign

    return sign(_DOMAIN + canonical_json(fields).encode("utf-8"))


def _ensure_dir() -> Path:
    folder = anchor_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def read_checkpoint(path: Path) -> Checkpoint | None:
    """The signed checkpoint in ``path`` (``None`` when there is none yet).

    Raises
    ------
    AnchorError
        When the file is not a regular file, can be written by others, or its signature is wrong.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise AnchorError(f"cannot read the audit anchor {path}: {err.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o022:
            raise AnchorError(f"the audit anchor {path} is not a private regular file "
                              f"(mode {stat.filemode(info.st_mode)})")
        raw = os.read(fd, 64 * 1024)
    finally:
        os.close(fd)
    try:
        data = json.loads(raw)
        fields = {k: data[k] for k in ("database_id", "seq", "entry_hash", "time")}
        signature = data["signature"]
    except (ValueError, KeyError, TypeError):
        raise AnchorError(f"the audit anchor {path} is damaged") from None
    from runs.signing import is_signed_by_us

    if not is_signed_by_us(_DOMAIN + canonical_json(fields).encode("utf-8"), signature):
        raise AnchorError(f"the audit anchor {path} does not carry this app's signature: it was "
                          "altered or copied from another database")
    return Checkpoint(str(fields["database_id"]), int(fields["seq"]), str(fields["entry_hash"]),
                      str(fields["time"]))


def advance(path: Path, database_id: str, seq: int, entry_hash: str, time: str,
            hash_in_log: Callable[[int], str | None] | None = None) -> None:
    """Record ``(seq, entry_hash)`` as the newest anchored entry unless a newer one is recorded.

    ``hash_in_log(seq)`` returns the log's hash of entry ``seq``: the checkpoint moves forward
    only while the log still holds the anchored entry unchanged, so a restored or rewritten
    database never becomes the new truth by growing past the checkpoint.

    Raises
    ------
    AnchorError
        When the checkpoint in ``path`` belongs to another database (its id was changed).
    """
    folder = _ensure_dir()
    lock_fd = os.open(folder / f"{path.stem}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        current = read_checkpoint(path)
        if current is not None and current.database_id != database_id:
            raise AnchorError(f"the audit anchor {path} belongs to database {current.database_id}, "
                              f"not to this one ({database_id}): the database was replaced or its "
                              "id changed; run `personas audit verify`")
        if current is not None and current.seq >= seq:
            return
        if current is not None and hash_in_log is not None \
                and hash_in_log(current.seq) != current.entry_hash:
            return  # the log no longer holds the anchored entry: leave the evidence in place
        fields = {"database_id": database_id, "seq": int(seq), "entry_hash": entry_hash,
                  "time": time}
        body = json.dumps({**fields, "signature": _signature(fields)}).encode("utf-8")
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            os.fchmod(handle, 0o600)
            os.write(handle, body)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temp, path)
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)


def check_writable() -> None:
    """Fail early (at store opening) when checkpoints cannot be written."""
    folder = _ensure_dir()
    if not os.access(folder, os.W_OK):
        raise AnchorError(f"the audit anchor folder {folder} is not writable; every audit entry "
                          f"needs its checkpoint there (set {ANCHOR_DIR_ENV})")
