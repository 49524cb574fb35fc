"""The user's column mapping (``--mapping`` JSON or a dict from the app): role and meaning per column.

Each entry is either a string (a role such as ``"account_id"``, ``"excluded"``, ``"feature"``, or a
meaning such as ``"dispute"``, ``"contact_attempts.sms"``) or an object with ``"role"`` and/or
``"meaning"`` (``null`` meaning: the column has none)::

    {"Akte": "account_id",
     "Info7": {"role": "feature", "meaning": "dispute"},
     "Kennz. 3": {"meaning": "opt_out.email"},
     "Region": "excluded"}
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import Message, PortfolioError
from core.i18n import N_

EXAMPLE = ('{"Akte": "account_id", "Region": "excluded", '
           '"Info7": {"role": "feature", "meaning": "dispute"}}')


@dataclass(frozen=True)
class MappingEntry:
    """What the user said about one column: ``value`` for a plain string entry, else role/meaning."""

    value: str | None = None  #: a plain string entry (a role or a meaning, decided by the caller)
    role: str | None = None
    meaning: str | None = None
    meaning_given: bool = False  #: True when the entry states a meaning (possibly ``None``: no meaning)


def _read(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise PortfolioError(Message(N_("mapping file {path} not found."), path=str(path))) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PortfolioError(Message(N_("mapping file {file} is not valid JSON ({detail}); expected e.g. {example}."),
                                     file=path.name, detail=str(err), example=EXAMPLE)) from None


def _entry(source: str, value: object, problems: list[str]) -> MappingEntry | None:
    if isinstance(value, str):
        return MappingEntry(value=value)
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"role", "meaning"})
        role, meaning = value.get("role"), value.get("meaning")
        if unknown or not (isinstance(role, str) or role is None) or not (isinstance(meaning, str) or meaning is None) \
                or not value:
            problems.append(f"'{source}': {json.dumps(value, ensure_ascii=False)[:80]}")
            return None
        return MappingEntry(role=role, meaning=meaning, meaning_given="meaning" in value)
    problems.append(f"'{source}': {json.dumps(value, ensure_ascii=False, default=str)[:80]}")
    return None


def load_mapping(mapping: dict | str | os.PathLike | None) -> dict[str, MappingEntry]:
    """The mapping as ``{source column: MappingEntry}``; a path is read as a JSON object.

    Raises
    ------
    PortfolioError
        When the file is missing or not JSON, or an entry is neither a string nor an object with
        ``"role"`` / ``"meaning"``; the message names the entries and shows an example.
    """
    if mapping is None:
        return {}
    if isinstance(mapping, (str, os.PathLike)):
        mapping = _read(Path(mapping))
    if not isinstance(mapping, dict) or not all(isinstance(k, str) for k in mapping):
        raise PortfolioError(Message(N_("the mapping must be a JSON object of column name -> role or meaning, e.g. "
                                        "{example}."), example=EXAMPLE))
    problems: list[str] = []
    entries = {source: _entry(source, value, problems) for source, value in mapping.items()}
    if problems:
        raise PortfolioError(Message(N_('the mapping has entries that are neither a role nor {{"role": ..., '
                                        '"meaning": ...}}: {entries}; expected e.g. {example}.'),
                                     entries=", ".join(problems), example=EXAMPLE))
    return {source: entry for source, entry in entries.items() if entry is not None}
