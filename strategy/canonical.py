"""Canonical JSON and SHA-256: the one way this package turns content into a hash.

Everything that is hashed (strategies, persona definitions, approvals, audit entries) goes through
:func:`canonical_json` so that the same content always gives the same bytes: keys sorted, no
whitespace, UTF-8, and NaN/infinity replaced by ``null`` (JSON has no NaN).
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def _plain(value: Any) -> Any:
    """Turn numpy/pandas scalars, tuples and NaN into plain JSON values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item"):  # numpy / pandas scalar
        return _plain(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def canonical_json(value: Any) -> str:
    """Serialise ``value`` to canonical JSON (sorted keys, compact separators, NaN as null)."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def sha256_hex(text: str | bytes) -> str:
    """SHA-256 of ``text`` (UTF-8 when a string) as 64 lowercase hex digits."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def content_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value``."""
    return sha256_hex(canonical_json(value))


def plain(value: Any) -> Any:
    """Public alias of the JSON normaliser (numpy scalars, tuples, NaN -> plain JSON values)."""
    return _plain(value)
