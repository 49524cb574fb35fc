"""The key that signs run manifests, kept where the app alone writes (never in the workspace).

Anyone who can write the workspace can rewrite a run folder *and* its hash manifest; only a
signature with a key they cannot read makes such a rewrite detectable. The key is 32 random bytes,
created on first use with permissions 0600 in :func:`core.workspace.config_dir`
(``PERSONAS_CONFIG_DIR``, else ``~/.config/persona-collections``), or read from the file
``PERSONAS_SIGNING_KEY_FILE`` names. Every process that saves or opens runs (the app, the CLI,
Dask workers) must see the same key file.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from core.errors import UserError
from core.workspace import config_dir, is_inside_workspace

KEY_BYTES = 32


class SigningKeyError(UserError):
    """The signing key cannot be created or read safely."""


def key_path() -> Path:
    explicit = os.environ.get("PERSONAS_SIGNING_KEY_FILE")
    return Path(explicit).expanduser().resolve() if explicit else config_dir() / "run-signing.key"


def _key() -> bytes:
    path = key_path()
    if is_inside_workspace(path):
        raise SigningKeyError(f"the run-signing key {path} lies inside the workspace, where whoever "
                              "can write runs could read it; set PERSONAS_CONFIG_DIR or "
                              "PERSONAS_SIGNING_KEY_FILE to a folder outside it.")
    try:
        return _read_key(path)
    except FileNotFoundError:
        return _create_key(path)


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SigningKeyError(f"the run-signing key {path} is not a regular file.")
        if info.st_mode & 0o077:
            raise SigningKeyError(f"the run-signing key {path} can be read by other users "
                                  f"(mode {stat.filemode(info.st_mode)}); run `chmod 600 {path}`.")
        data = os.read(fd, 4 * KEY_BYTES).strip()
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) < KEY_BYTES:
        raise SigningKeyError(f"the run-signing key {path} is damaged; restore it from a backup "
                              "(runs it signed cannot be opened without it).")
    return key


def _create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another process created it meanwhile
        return _read_key(path)
    try:
        key = secrets.token_bytes(KEY_BYTES)
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def sign(payload: bytes) -> str:
    """HMAC-SHA256 of ``payload`` with the app's key, as hex."""
    return hmac.new(_key(), payload, hashlib.sha256).hexdigest()


def is_signed_by_us(payload: bytes, signature: str) -> bool:
    """True when ``signature`` is this app's HMAC of ``payload`` (constant-time comparison)."""
    return isinstance(signature, str) and hmac.compare_digest(sign(payload), signature)
