"""The run's own copy of its portfolio: what a run keeps so that every reader sees the same accounts.

The manager, the compliance reviewer and the CLI do not hold the analyst's upload; an account-level
check or export must still run on exactly the accounts the run was made from. So each new run folder
holds ``portfolio.parquet`` (written through :mod:`runs`, covered by the signed manifest):

* the loaded rows (``Portfolio.frame``: only usable rows, in the run's order, so they line up with
  ``accounts.parquet``), ``account_id``, ``balance`` and ``days_past_due`` under those names (the
  names the run's column model uses for them) and every other column under its source name;
* without direct identifiers: every column whose role is personal data (names, e-mail, phone, IBAN,
  street address, date of birth; :mod:`portfolio.roles`), and any other column whose values look like
  such data (:func:`portfolio.patterns.detect_pii_content`, :func:`portfolio.person_names.detect_person_names`),
  e.g. one a mapping made a feature. No check or export needs them (GDPR Art. 5(1)(c), data minimisation).

``run.json`` records the file's SHA-256, the source data hash, the columns kept and each column left
out with its reason (:meth:`RunPortfolio.section`).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
import pyarrow as pa

from core.hashing import sha256_bytes
from portfolio.decide import Role
from portfolio.meanings import Meaning
from portfolio.patterns import detect_pii_content
from portfolio.person_names import detect_person_names
from runs import PORTFOLIO

_PII_REASON = "direct identifier ({why}): not needed for any check or export, so not kept with the run"


@dataclass(frozen=True)
class RunPortfolio:
    """A run's copy of its portfolio, as Parquet bytes (what is written and hashed) and as a frame.

    Attributes
    ----------
    parquet : bytes
        The content of ``portfolio.parquet``.
    left_out : tuple of dict
        ``{"column": source name, "reason": ...}`` for every column not kept.
    renamed : dict
        Source name -> name in the copy (the required columns, e.g. ``"Offener Betrag" -> "balance"``).
    """

    parquet: bytes = field(repr=False)
    left_out: tuple[dict[str, str], ...] = ()
    renamed: dict[str, str] = field(default_factory=dict)

    @cached_property
    def frame(self) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.parquet))

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.parquet)

    def section(self, data_sha256: str) -> dict[str, Any]:
        """The ``portfolio`` section of ``run.json`` (see ``runs/schemas/run.schema.json``)."""
        frame = self.frame
        return {"file": PORTFOLIO, "sha256": self.sha256, "data_sha256": data_sha256, "rows": int(len(frame)),
                "columns": [str(c) for c in frame.columns], "renamed": dict(self.renamed),
                "left_out": [dict(item) for item in self.left_out]}

    @classmethod
    def from_bytes(cls, data: bytes, section: dict[str, Any] | None = None) -> "RunPortfolio":
        """The copy read back from a run folder (``section``: its ``run.json`` entry)."""
        section = section or {}
        return cls(data, tuple(dict(item) for item in section.get("left_out") or ()),
                   dict(section.get("renamed") or {}))


def run_portfolio(portfolio: Any) -> RunPortfolio:
    """The copy of ``portfolio`` (``portfolio.load.Portfolio``) a run keeps; see the module docstring."""
    frame = portfolio.frame.reset_index(drop=True)
    roles = portfolio.roles
    left_out = _direct_identifiers(frame, roles)
    kept = frame[[c for c in frame.columns if c not in left_out]]
    renamed = {str(src): str(dst) for src, dst in (getattr(roles, "renamed", {}) or {}).items()
               if dst in kept.columns}
    source_of = getattr(roles, "source_of", lambda column: column)
    return RunPortfolio(_parquet(kept), tuple({"column": str(source_of(c)), "reason": reason}
                                              for c, reason in left_out.items()), renamed)


def _direct_identifiers(frame: pd.DataFrame, roles: Any) -> dict[Any, str]:
    """Column -> reason for every column the run's copy leaves out."""
    role_of = dict(getattr(roles, "roles", {}) or {})
    reason_of = dict(getattr(roles, "reasons", {}) or {})
    meaning_of = dict(getattr(roles, "meanings", {}) or {})
    out: dict[Any, str] = {}
    for column in frame.columns:
        role = role_of.get(column)
        if role in Role.REQUIRED:
            continue
        if role == Role.PII:
            why = reason_of.get(column) or "personal data"
            out[column] = _PII_REASON.format(why=why.split(":")[0])
            continue
        if meaning_of.get(column) in Meaning.ALL:
            continue  # a collections fact (flag, count, date) the account-level rules need, never a name
        found = detect_pii_content(frame[column]) or detect_person_names(frame[column])
        if found:
            out[column] = _PII_REASON.format(why=f"{found}, although its role is {role or 'not set'}")
    return out


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    _storable(frame).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with column names as text and mixed-type text columns as text, as Parquet needs."""
    out = frame.copy()
    out.columns = [str(c) for c in out.columns]
    for column in out.columns:
        values = out[column]
        if values.dtype != object:
            continue
        try:
            pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            out[column] = values.map(lambda v: v if v is None or (isinstance(v, float) and v != v) else str(v))
    return out
