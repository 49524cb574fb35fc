"""Which role each column of a portfolio plays: identifier, amounts, personal data, outcome, feature ...

:func:`detect_roles` decides from column names (English and German synonyms, compared without case,
umlauts or punctuation) and from a sample of values (e-mail addresses, IBANs, phone numbers, birth
dates). A mapping (dict or JSON file: source column -> role or canonical name) overrides detection.
Every column gets a reason a person can read.

Decisions worth knowing:

* Postcodes and cities are possible proxies for protected attributes (e.g. ethnic origin): they are
  ``excluded`` by default; map them to ``feature`` to use them. Region-like columns (region,
  Bundesland, country) stay features but are listed in :attr:`ColumnRoles.proxies`.
* A second identifier, constant, all-empty, date-valued and id-like text columns (more than half of
  the values distinct) are ``excluded`` with the reason.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import PortfolioError
from portfolio.patterns import detect_pii_content, looks_like_dates
from portfolio.synonyms import (
    METRIC_WORDS, PII_NAMES, PII_STEMS, POSTCODE_NAMES, REGION_WORDS, REQUIRED_SYNONYMS, SENSITIVE_NAMES,
    SENSITIVE_WORDS, TARGET_NAMES, TARGET_WORDS, TRUTH_NAMES, TRUTH_PREFIXES, looks_like_id_name,
    name_matches, normalise_name, strip_owner,
)

#: Text columns with more distinct values than this share of rows (and > 20 values) look like ids.
ID_LIKE_SHARE = 0.5


class Role:
    """Role names (plain strings, so they survive JSON)."""

    ACCOUNT_ID = "account_id"
    BALANCE = "balance"
    DAYS_PAST_DUE = "days_past_due"
    PII = "pii"
    SENSITIVE = "sensitive"
    TARGET = "target"
    TRUTH = "truth"
    FEATURE = "feature"
    EXCLUDED = "excluded"
    REQUIRED = (ACCOUNT_ID, BALANCE, DAYS_PAST_DUE)
    ALL = (ACCOUNT_ID, BALANCE, DAYS_PAST_DUE, PII, SENSITIVE, TARGET, TRUTH, FEATURE, EXCLUDED)


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
    attribute (postcode, region).
    """

    roles: dict[str, str]
    reasons: dict[str, str]
    renamed: dict[str, str] = field(default_factory=dict)
    proxies: list[str] = field(default_factory=list)

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
        """One row per column: column, source_column, role, reason, proxy."""
        return pd.DataFrame({
            "column": list(self.roles),
            "source_column": [self.source_of(c) for c in self.roles],
            "role": list(self.roles.values()),
            "reason": [self.reasons.get(c, "") for c in self.roles],
            "proxy": [c in self.proxies for c in self.roles],
        })

    def to_dict(self) -> dict[str, Any]:
        return {"roles": dict(self.roles), "reasons": dict(self.reasons),
                "renamed": dict(self.renamed), "proxies": list(self.proxies)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ColumnRoles":
        return cls(roles=dict(data["roles"]), reasons=dict(data.get("reasons", {})),
                   renamed=dict(data.get("renamed", {})), proxies=list(data.get("proxies", [])))


def load_mapping(mapping: dict | str | os.PathLike | None) -> dict[str, str]:
    """A mapping as a dict; a path is read as a JSON object ``{"source column": "role"}``."""
    if mapping is None:
        return {}
    if isinstance(mapping, (str, os.PathLike)):
        path = Path(mapping)
        try:
            mapping = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise PortfolioError(f"mapping file {path} not found.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise PortfolioError(f"mapping file {path.name} is not valid JSON ({err}); expected e.g. "
                                 '{"Akte": "account_id", "Region": "excluded"}.') from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise PortfolioError('the mapping must be a JSON object of column name -> role, e.g. '
                             '{"Akte": "account_id", "Region": "excluded"}.')
    return dict(mapping)


def detect_roles(frame: pd.DataFrame, mapping: dict | str | os.PathLike | None = None) -> ColumnRoles:
    """Decide the role of every column.

    Parameters
    ----------
    frame
        The raw portfolio (as read by :func:`portfolio.read.read_table`).
    mapping
        Source column -> role or canonical name (dict or JSON file); overrides detection.

    Raises
    ------
    PortfolioError
        When the mapping names unknown roles or columns, or gives one required role to two columns.
    """
    repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if repeated:
        raise PortfolioError(f"column names appear more than once: {', '.join(map(repr, repeated))}; "
                             "give every column its own name.")
    forced = _resolve_mapping(frame, load_mapping(mapping))
    decided: dict[Any, tuple[str, str]] = {}
    candidates: dict[str, list[tuple[int, Any, str]]] = {r: [] for r in Role.REQUIRED}
    for position, column in enumerate(frame.columns):
        if column in forced:
            decided[column] = (forced[column], f"set by the mapping ('{column}' -> {forced[column]})")
            continue
        required = _required_by_name(column)
        if required:
            role, rank, reason = required
            candidates[role].append((rank, column, reason))
            continue
        decided[column] = _role_by_name(column) or _role_by_content(frame[column])
    renamed = _choose_required(candidates, forced, decided)
    return _assemble(frame, decided, renamed)


def _resolve_mapping(frame: pd.DataFrame, mapping: dict[str, str]) -> dict[Any, str]:
    by_norm = {normalise_name(c): c for c in frame.columns}
    unknown_columns, unknown_roles, forced = [], [], {}
    for source, role in mapping.items():
        column = source if source in frame.columns else by_norm.get(normalise_name(source))
        role_key = role.strip().lower().replace(" ", "_").replace("-", "_")
        role_key = _ROLE_ALIASES.get(role_key, role_key)
        if column is None:
            unknown_columns.append(source)
        if role_key not in Role.ALL:
            unknown_roles.append(f"'{source}': '{role}'")
        elif column is not None:
            forced[column] = role_key
    lines = []
    if unknown_columns:
        lines.append(f"the mapping names columns that are not in the file: {', '.join(map(repr, unknown_columns))} "
                     f"(the file has: {', '.join(map(repr, map(str, frame.columns[:30])))}).")
    if unknown_roles:
        lines.append(f"the mapping uses unknown roles: {', '.join(unknown_roles)}; "
                     f"known roles: {', '.join(Role.ALL)}.")
    for role in Role.REQUIRED:
        sources = [c for c, r in forced.items() if r == role]
        if len(sources) > 1:
            lines.append(f"the mapping gives the role {role} to {len(sources)} columns "
                         f"({', '.join(map(repr, sources))}); choose one.")
    if lines:
        raise PortfolioError(" ".join(lines), lines=lines)
    return forced


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


def _role_by_name(column: Any) -> tuple[str, str] | None:
    norm = normalise_name(column)
    words = set(norm.split())
    compact = norm.replace(" ", "")
    if norm in TRUTH_NAMES or norm.startswith(TRUTH_PREFIXES):
        return Role.TRUTH, f"named like a planted label ('{column}'): kept for evaluation only"
    if name_matches(norm, TARGET_NAMES) or words & TARGET_WORDS or ("default" in words and not words & {"rate", "date"}):
        return Role.TARGET, f"named like an outcome ('{column}'): a target, never a feature"
    if name_matches(norm, SENSITIVE_NAMES) or words & SENSITIVE_WORDS:
        return Role.SENSITIVE, (f"named like a protected attribute ('{column}'): kept only for fairness "
                                "audits, never a feature")
    is_metric = bool(words & METRIC_WORDS)
    # Stems only for one-word German compounds ("Kundenemail", "Rechnungsadresse").
    single_word = " " not in strip_owner(norm)
    if not is_metric and (name_matches(norm, PII_NAMES) or (single_word and any(s in compact for s in PII_STEMS))):
        return Role.PII, f"named like personal data ('{column}'): masked when shown, never a feature"
    if name_matches(norm, POSTCODE_NAMES):
        return Role.EXCLUDED, (f"postcode/place ('{column}') is a possible proxy for protected attributes; "
                               "excluded by default (map it to 'feature' to use it)")
    return None


def _role_by_content(values: pd.Series) -> tuple[str, str]:
    pii = detect_pii_content(values)
    if pii:
        return Role.PII, f"{pii}: personal data, masked when shown, never a feature"
    filled = values.dropna()
    if filled.empty:
        return Role.EXCLUDED, "all values are empty"
    distinct = _nunique(filled)
    if distinct == 1:
        return Role.EXCLUDED, f"constant: every filled value is '{str(filled.iloc[0])[:40]}'"
    dates = looks_like_dates(values)
    if dates:
        return Role.EXCLUDED, dates
    numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    if not numeric and distinct > 20 and distinct > ID_LIKE_SHARE * len(filled):
        return Role.EXCLUDED, (f"id-like or free text: {distinct:,} distinct values in {len(filled):,} filled "
                               f"rows ({distinct / len(filled):.0%}); not useful for grouping")
    if numeric and looks_like_id_name(values.name) and distinct == len(filled) and len(filled) > 20:
        return Role.EXCLUDED, "a second identifier (named like an id, every value distinct)"
    if numeric:
        return Role.FEATURE, "numeric: used as a behavioural feature"
    return Role.FEATURE, f"categorical with {distinct:,} levels: used as a feature"


def _nunique(values: pd.Series) -> int:
    try:
        return int(values.nunique())
    except TypeError:  # unhashable cells (lists, dicts) in a frame built in code
        return int(values.astype("str").nunique())


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


def _assemble(frame: pd.DataFrame, decided: dict, renamed: dict) -> ColumnRoles:
    roles: dict[str, str] = {}
    reasons: dict[str, str] = {}
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
        words = set(normalise_name(column).split())
        if name_matches(normalise_name(column), POSTCODE_NAMES) or words & REGION_WORDS:
            proxies.append(name)
            if role == Role.FEATURE:
                reasons[name] = reason + "; geographic: a possible proxy for protected attributes, check fairness"
    renamed = {src: dst for src, dst in renamed.items() if src != dst}
    return ColumnRoles(roles=roles, reasons=reasons, renamed=renamed, proxies=proxies)
