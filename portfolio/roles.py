"""The one column model: the role each column of a portfolio plays (identifier, amounts, personal data,
protected attribute, outcome, feature ...) and what it means for collections (payments so far, broken
promises, contact history per channel, opt-outs, dispute, over-indebtedness, time-barred ...).

:func:`detect_roles` decides from column names (English and German synonyms on word boundaries,
compared without case, umlauts or punctuation; :mod:`portfolio.vocabulary`, :mod:`portfolio.meanings`)
and from a sample of values (e-mail addresses, IBANs, phone numbers, birth dates, person names, yes/no
flags, currency codes). A mapping (dict or JSON file, :mod:`portfolio.mapping`: source column -> role,
meaning, or both) overrides detection. Every role and every meaning gets a reason a person can read.
Other packages ask :class:`ColumnRoles` (``column_for(Meaning.DISPUTE)``) and never match names.

Decisions worth knowing:

* Postcodes and cities are possible proxies for protected attributes (e.g. ethnic origin): they are
  ``excluded`` by default; map them to ``feature`` to use them. Region-like columns (region,
  Bundesland, country) stay features but are listed in :attr:`ColumnRoles.proxies`.
* A second identifier, constant, all-empty, date-valued and id-like text columns (more than half of
  the values distinct) are ``excluded`` with the reason.
* A full date of birth is ``pii`` with the meaning ``protected.age``; a birth year or an age is
  ``sensitive``. Outcomes are ``target`` by name ("default", "bezahlt") or by name and shape (a
  two-valued "bad", "credit_risk", "Ausfall").
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.errors import Joined, Message, PortfolioError
from core.i18n import N_
from portfolio.decide import Role, decide_column, role_by_content
from portfolio.mapping import MappingEntry, load_mapping as read_mapping
from portfolio.meanings import ALL_MEANINGS, ColumnMeanings, detect_meaning, label
from portfolio.synonyms import POSTCODE_NAMES, REGION_WORDS, REQUIRED_SYNONYMS, name_matches, normalise_name, strip_owner
from portfolio.vocabulary import Outcome, Protected, outcome_by_name, protected_meaning

_ROLE_ALIASES = {"id": Role.ACCOUNT_ID, "dpd": Role.DAYS_PAST_DUE, "outcome": Role.TARGET,
                 "exclude": Role.EXCLUDED, "ignore": Role.EXCLUDED, "protected": Role.SENSITIVE}
_GERMAN_STEMS = ("konto", "akte", "akten", "az", "vertrag", "kunden", "schuldner", "forderung", "fall",
                 "offen", "betrag", "saldo", "rest", "schuld", "tage", "verzug", "ueberfaellig", "mahn",
                 "referenz", "gesamt", "posten")


@dataclass
class ColumnRoles:
    """Roles of a portfolio's columns, keyed by the column name after renaming.

    ``roles`` and ``reasons`` use canonical names for the three required columns (``account_id``,
    ``balance``, ``days_past_due``) and source names for all others; ``renamed`` maps source name to
    canonical name. ``proxies`` lists feature or excluded columns that may stand in for a protected
    attribute (postcode, region). ``meanings`` maps columns to their meaning (only columns that have
    one; see :class:`portfolio.meanings.Meaning`) and ``meaning_reasons`` says why.
    """

    roles: dict[str, str]
    reasons: dict[str, str]
    renamed: dict[str, str] = field(default_factory=dict)
    proxies: list[str] = field(default_factory=list)
    meanings: dict[str, str] = field(default_factory=dict)
    meaning_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def column_meanings(self) -> ColumnMeanings:
        """The meanings as the object other packages ask (see :class:`portfolio.meanings.ColumnMeanings`)."""
        return ColumnMeanings(dict(self.meanings), dict(self.meaning_reasons))

    def meaning_of(self, column: str) -> str | None:
        """The collections (or protected / outcome) meaning of a column, or ``None``."""
        return self.meanings.get(column)

    def column_for(self, meaning: str) -> str | None:
        """The first column with exactly this meaning (``"dispute"``), else ``None``."""
        return self.column_meanings.column_for(meaning)

    def columns_for(self, meaning_prefix: str) -> list[str]:
        """Columns whose meaning is ``meaning_prefix`` or one of its channels (``"opt_out"``)."""
        return self.column_meanings.columns_for(meaning_prefix)

    def columns_with(self, role: str) -> list[str]:
        """Columns with the given role, in frame order."""
        return [c for c, r in self.roles.items() if r == role]

    @property
    def features(self) -> list[str]:
        """Feature columns other than balance and days_past_due (which are always features too)."""
        return self.columns_with(Role.FEATURE)

    @property
    def pii(self) -> list[str]:
        return self.columns_with(Role.PII)

    @property
    def sensitive(self) -> list[str]:
        return self.columns_with(Role.SENSITIVE)

    @property
    def targets(self) -> list[str]:
        return self.columns_with(Role.TARGET)

    @property
    def truth(self) -> list[str]:
        return self.columns_with(Role.TRUTH)

    @property
    def excluded(self) -> list[str]:
        return self.columns_with(Role.EXCLUDED)

    @property
    def missing_required(self) -> list[str]:
        """Required roles no column was found for."""
        return [r for r in Role.REQUIRED if r not in self.roles or self.roles[r] != r]

    def source_of(self, column: str) -> str:
        """The source name of a (possibly renamed) column."""
        return next((src for src, canon in self.renamed.items() if canon == column), column)

    def to_frame(self) -> pd.DataFrame:
        """One row per column: column, source_column, role, reason, proxy, meaning, meaning_reason."""
        return pd.DataFrame({
            "column": list(self.roles),
            "source_column": [self.source_of(c) for c in self.roles],
            "role": list(self.roles.values()),
            "reason": [self.reasons.get(c, "") for c in self.roles],
            "proxy": [c in self.proxies for c in self.roles],
            "meaning": [self.meanings.get(c) for c in self.roles],
            "meaning_reason": [self.meaning_reasons.get(c, "") for c in self.roles],
        })

    def to_dict(self) -> dict[str, Any]:
        return {"roles": dict(self.roles), "reasons": dict(self.reasons),
                "renamed": dict(self.renamed), "proxies": list(self.proxies),
                "meanings": dict(self.meanings), "meaning_reasons": dict(self.meaning_reasons)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ColumnRoles":
        """Roles from :meth:`to_dict` (dicts written before meanings existed load with none)."""
        return cls(roles=dict(data["roles"]), reasons=dict(data.get("reasons", {})),
                   renamed=dict(data.get("renamed", {})), proxies=list(data.get("proxies", [])),
                   meanings=dict(data.get("meanings") or {}),
                   meaning_reasons=dict(data.get("meaning_reasons") or {}))


def load_mapping(mapping: dict | str | os.PathLike | None) -> dict[str, MappingEntry]:
    """The mapping as ``{source column: MappingEntry}`` (see :mod:`portfolio.mapping`)."""
    return read_mapping(mapping)


def detect_roles(frame: pd.DataFrame, mapping: dict | str | os.PathLike | None = None) -> ColumnRoles:
    """Decide the role and the meaning of every column.

    Parameters
    ----------
    frame
        The raw portfolio (as read by :func:`portfolio.read.read_table`).
    mapping
        Source column -> role, meaning or ``{"role": ..., "meaning": ...}`` (dict or JSON file;
        see :mod:`portfolio.mapping`); overrides detection.

    Raises
    ------
    PortfolioError
        When the mapping names unknown roles, meanings or columns, or gives one required role to two
        columns.
    """
    repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if repeated:
        raise PortfolioError(Message(N_("column names appear more than once: {names}; give every column its own "
                                        "name."), names=", ".join(map(repr, repeated))))
    forced, forced_meanings = _resolve_mapping(frame, load_mapping(mapping))
    decided: dict[Any, tuple[str, str]] = {}
    meant: dict[Any, tuple[str, str] | None] = {}
    candidates: dict[str, list[tuple[int, Any, str]]] = {r: [] for r in Role.REQUIRED}
    for column in frame.columns:
        values = frame[column]
        if column in forced or column in forced_meanings:
            decided[column], meant[column] = _mapped(column, values, forced.get(column), forced_meanings)
            continue
        required = _required_by_name(column)
        if required:
            role, rank, reason = required
            candidates[role].append((rank, column, reason))
            meant[column] = None
            continue
        decided[column], meant[column] = decide_column(column, values)
    renamed = _choose_required(candidates, forced, decided)
    return _assemble(frame, decided, renamed, meant)


def _mapped(column: Any, values: pd.Series, role: str | None,
            forced_meanings: dict[Any, str | None]) -> tuple[tuple[str, str], tuple[str, str] | None]:
    """Role and meaning of a column the mapping speaks about; what it leaves open is detected."""
    if column in forced_meanings:
        meaning = forced_meanings[column]
        meant = (meaning, f"set by the mapping ('{column}' -> {meaning})") if meaning else None
    elif role in Role.REQUIRED:
        meant = None
    elif role == Role.SENSITIVE:
        found = protected_meaning(column)
        meant = (found[0], f"{label(found[0])}: matched '{found[1].strip('~*')}' in '{column}'") if found else None
    elif role == Role.TARGET:
        found = outcome_by_name(column, values)
        meant = (found[0], f"{label(found[0])}: matched '{found[1].strip('~*')}' in '{column}'") if found else (
            Outcome.UNKNOWN_DIRECTION, "an outcome by the mapping; its name does not say which value is the event")
    else:
        meant = detect_meaning(column, values)
    if role is None:
        meaning = meant[0] if meant else None
        implied = Role.SENSITIVE if meaning in Protected.ALL else Role.TARGET if meaning in Outcome.ALL else None
        if implied:
            return (implied, f"{implied} because the mapping gives the meaning {meaning}"), meant
        return role_by_content(values), meant
    return (role, f"set by the mapping ('{column}' -> {role})"), meant


def _resolve_mapping(frame: pd.DataFrame,
                     mapping: dict[str, MappingEntry]) -> tuple[dict[Any, str], dict[Any, str | None]]:
    """Forced roles and forced meanings (``None``: no meaning) by frame column."""
    by_norm = {normalise_name(c): c for c in frame.columns}
    unknown_columns, unknown_roles, unknown_meanings = [], [], []
    forced: dict[Any, str] = {}
    meanings: dict[Any, str | None] = {}
    for source, entry in mapping.items():
        column = source if source in frame.columns else by_norm.get(normalise_name(source))
        if column is None:
            unknown_columns.append(source)
        role, meaning, meaning_given = entry.role, entry.meaning, entry.meaning_given
        if entry.value is not None:
            if _role_key(entry.value) in Role.ALL:
                role = entry.value
            elif _meaning_key(entry.value) in ALL_MEANINGS:
                meaning, meaning_given = entry.value, True
            else:
                unknown_roles.append(f"'{source}': '{entry.value}'")
                continue
        if role is not None and _role_key(role) not in Role.ALL:
            unknown_roles.append(f"'{source}': '{role}'")
        elif role is not None and column is not None:
            forced[column] = _role_key(role)
        if meaning_given and meaning is not None and _meaning_key(meaning) not in ALL_MEANINGS:
            unknown_meanings.append(f"'{source}': '{meaning}'")
        elif meaning_given and column is not None:
            meanings[column] = None if meaning is None else _meaning_key(meaning)
    lines = []
    if unknown_columns:
        lines.append(Message(N_("the mapping names columns that are not in the file: {names} (the file has: "
                                "{columns})."), names=", ".join(map(repr, unknown_columns)),
                             columns=", ".join(map(repr, map(str, frame.columns[:30])))))
    if unknown_roles:
        lines.append(Message(N_("the mapping uses unknown roles: {entries}; known roles: {roles}."),
                             entries=", ".join(unknown_roles), roles=", ".join(Role.ALL)))
    if unknown_meanings:
        lines.append(Message(N_("the mapping uses unknown meanings: {entries}; known meanings: {meanings}."),
                             entries=", ".join(unknown_meanings), meanings=", ".join(ALL_MEANINGS)))
    for role in Role.REQUIRED:
        sources = [c for c, r in forced.items() if r == role]
        if len(sources) > 1:
            lines.append(Message(N_("the mapping gives the role {role} to {n} columns ({names}); choose one."),
                                 role=role, n=len(sources), names=", ".join(map(repr, sources))))
    if lines:
        raise PortfolioError(Joined(" ", lines), lines=lines)
    return forced, meanings


def _role_key(role: str) -> str:
    key = role.strip().lower().replace(" ", "_").replace("-", "_")
    return _ROLE_ALIASES.get(key, key)


def _meaning_key(meaning: str) -> str:
    return meaning.strip().lower().replace(" ", "_").replace("-", "_")


def _language(synonym: str) -> str:
    words = normalise_name(synonym).split()
    return "German" if any(w.startswith(_GERMAN_STEMS) for w in words) else "English"


def _required_by_name(column: Any) -> tuple[str, int, str] | None:
    norm = normalise_name(column)
    for role, synonyms in REQUIRED_SYNONYMS.items():
        for rank, synonym in enumerate(synonyms):
            target = normalise_name(synonym)
            if norm == target or strip_owner(norm) == target:
                return role, rank, f"matched {_language(synonym)} synonym '{synonym}' for {role}"
    return None


def _choose_required(candidates: dict, forced: dict, decided: dict) -> dict[Any, str]:
    renamed: dict[Any, str] = {}
    for role in Role.REQUIRED:
        chosen = [c for c, r in forced.items() if r == role]
        ranked = sorted(candidates[role], key=lambda item: item[0])
        if not chosen and ranked:
            chosen = [ranked[0][1]]
            decided[ranked[0][1]] = (role, ranked[0][2])
        for _, column, reason in ranked:
            if column in chosen:
                continue
            if role == Role.ACCOUNT_ID:
                decided[column] = (Role.EXCLUDED, f"a second identifier ({reason}); '{chosen[0]}' is the account id")
            else:
                decided[column] = (Role.FEATURE, f"also looks like {role} ({reason}); '{chosen[0]}' is used as {role}")
        if chosen:
            renamed[chosen[0]] = role
    return renamed


def _assemble(frame: pd.DataFrame, decided: dict, renamed: dict, meant: dict) -> ColumnRoles:
    roles: dict[str, str] = {}
    reasons: dict[str, str] = {}
    meanings: dict[str, str] = {}
    meaning_reasons: dict[str, str] = {}
    proxies: list[str] = []
    canonical_taken = set(renamed.values())
    for column in frame.columns:
        role, reason = decided[column]
        name = renamed.get(column, column)
        if column not in renamed and name in canonical_taken:
            # A column already called e.g. "balance" that is not the one used as balance.
            name = f"{column}_source"
            renamed[column] = name
            reason += f"; renamed to '{name}' because '{column}' is taken"
        roles[name] = role
        reasons[name] = reason
        if meant.get(column):
            meanings[name], meaning_reasons[name] = meant[column]
        words = set(normalise_name(column).split())
        if name_matches(normalise_name(column), POSTCODE_NAMES) or words & REGION_WORDS:
            proxies.append(name)
            if role == Role.FEATURE:
                reasons[name] = reason + "; geographic: a possible proxy for protected attributes, check fairness"
    renamed = {src: dst for src, dst in renamed.items() if src != dst}
    return ColumnRoles(roles=roles, reasons=reasons, renamed=renamed, proxies=proxies, meanings=meanings,
                       meaning_reasons=meaning_reasons)
