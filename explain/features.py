"""Which columns feed the risk model, the outcome as an event vector, and the feature encoding.

The model sees ``roles.features`` plus ``balance`` and ``days_past_due``; account ids, PII,
sensitive attributes, outcome (target) and truth columns never do (:func:`model_features` asserts it).
Columns that record a debtor exercising a right or a vulnerability (:data:`GUARDRAIL_MEANINGS`:
dispute, channel objection, time-barred, over-indebtedness, insolvency) feed the guardrails, not the
model, unless ``RiskSettings.rights_and_vulnerability_as_features`` is on (:func:`guardrail_columns`).

Categorical features are ordinal-encoded here (codes as floats, missing as NaN) and the trees split
on the codes as numbers. shap 0.51's TreeExplainer does not read the categorical (bitset) splits of
scikit-learn's native categorical support, so its values would not add up to the model output
(measured: 15 log-odds off); on codes the explanation is exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import UserError
from core.i18n import N_, _, current_language
from portfolio.meanings import ColumnMeanings, Meaning

ALWAYS_FEATURES = ("balance", "days_past_due")
NEVER_FEATURE_ROLES = ("pii", "sensitive", "target", "truth", "excluded", "account_id")
OTHER_LEVEL = "(other)"

_TRUE = {"1", "1.0", "yes", "y", "true", "t", "ja", "j", "wahr", "paid", "bezahlt"}
_FALSE = {"0", "0.0", "no", "n", "false", "f", "nein", "falsch"}


def forbidden_columns(roles: Any, target: str | None = None) -> set[str]:
    """Columns that must never be a model feature, whatever the roles say is a feature."""
    role_of = dict(getattr(roles, "roles", {}) or {})
    banned = {col for col, role in role_of.items() if role in NEVER_FEATURE_ROLES}
    for attr in ("pii", "sensitive", "targets", "truth", "excluded"):
        banned.update(getattr(roles, attr, []) or [])
    banned.add("account_id")
    if target:
        banned.add(target)
    return banned


#: Meanings of columns that record a debtor exercising a right or a vulnerability, with why each
#: belongs to the guardrails rather than to the score. ``opt_out`` covers every channel.
GUARDRAIL_MEANINGS: dict[str, str] = {
    Meaning.DISPUTE: N_("records a right exercised: the debtor disputes the claim"),
    Meaning.OPT_OUT: N_("records a right exercised: the debtor objected to a contact channel (Art. 21 GDPR)"),
    Meaning.TIME_BARRED: N_("records a legal defence: the claim is time-barred"),
    Meaning.OVER_INDEBTED: N_("records a vulnerability: over-indebtedness or hardship"),
    Meaning.INSOLVENCY: N_("records a vulnerability: insolvency proceedings"),
}
LEFT_OUT = N_("feeds the guardrails (the account-level rules), not the risk score")
LET_IN = N_("a model feature because the risk setting rights_and_vulnerability_as_features is on")


def guardrail_reason(record: dict[str, Any]) -> str:
    """Why a guardrail column is (not) a model feature, in the current language.

    The stored ``reason`` (English, in run.json and risk/result.json) is shown in English and when its
    meaning is not one of :data:`GUARDRAIL_MEANINGS`; otherwise the reason is rebuilt from the
    column's ``meaning`` and ``in_model``.
    """
    meaning = str(record.get("meaning") or "")
    kind = meaning.split(".")[0]
    if current_language() == "en" or kind not in GUARDRAIL_MEANINGS:
        return str(record.get("reason", ""))
    return "{}; {}".format(_(GUARDRAIL_MEANINGS[kind]), _(LET_IN if record.get("in_model") else LEFT_OUT))


def guardrail_columns(frame: pd.DataFrame, roles: Any, *, as_features: bool = False) -> list[dict[str, Any]]:
    """The columns of ``frame`` whose meaning is in :data:`GUARDRAIL_MEANINGS`, in frame order.

    Each is ``{"column", "meaning", "in_model", "reason"}``; ``in_model`` is ``as_features`` for
    columns the roles make features (others never feed the model anyway). Meanings come from the
    column model (``roles.meanings``), so a German "Einwand erhoben" counts like "dispute_flag".
    """
    meanings = ColumnMeanings.of(roles)
    features = set(getattr(roles, "features", []) or [])
    found = []
    for column in frame.columns:
        meaning = meanings.meaning_of(column)
        kind = meaning.split(".")[0] if meaning else None
        if kind not in GUARDRAIL_MEANINGS:
            continue
        in_model = as_features and column in features
        found.append({"column": str(column), "meaning": meaning, "in_model": bool(in_model),
                      "reason": f"{GUARDRAIL_MEANINGS[kind]}; {LET_IN if in_model else LEFT_OUT}"})
    return found


def model_features(frame: pd.DataFrame, roles: Any, target: str | None = None, *,
                   rights_and_vulnerability: bool = False) -> list[str]:
    """The model's features: ``roles.features`` + balance + days_past_due, present in ``frame``,
    without the columns :func:`guardrail_columns` lists unless ``rights_and_vulnerability``."""
    wanted = list(ALWAYS_FEATURES) + [c for c in roles.features if c not in ALWAYS_FEATURES]
    banned = forbidden_columns(roles, target)
    guarded = {g["column"] for g in guardrail_columns(frame, roles, as_features=rights_and_vulnerability)
               if not g["in_model"]}
    features = [c for c in wanted if c in frame.columns and c not in banned and str(c) not in guarded]
    leaked = set(features) & banned
    assert not leaked, f"protected, PII, outcome or truth columns among the model features: {leaked}"
    missing = [c for c in ALWAYS_FEATURES if c not in frame.columns]
    if missing:
        raise UserError(_("The portfolio has no column {columns}; the risk model needs it.").format(
            columns=", ".join(missing)))
    return features


def event_vector(frame: pd.DataFrame, target: str, target_event: str) -> np.ndarray:
    """The modelled event, 1 = NOT paid, from the outcome column and which way round it is.

    ``target_event="paid"``: the column is 1 (yes/true) when the account was paid, so event = 1 - target.
    ``target_event="default"``: the column is 1 when the account was NOT paid, so event = target.
    Raises :class:`UserError` naming the column and its bad values unless it is binary and complete.
    """
    if target_event not in ("paid", "default"):
        raise UserError(_('target_event must be "paid" or "default", not "{value}".').format(value=target_event))
    if target not in frame.columns:
        raise UserError(_('The outcome column "{column}" is not in the portfolio. Columns: {columns}.').format(
            column=target, columns=", ".join(map(str, frame.columns))))
    values = _binary(frame[target], target)
    return (1 - values if target_event == "paid" else values).astype(np.int8)


def _binary(column: pd.Series, name: str) -> np.ndarray:
    missing = column.isna().to_numpy()
    if missing.any():
        rows = (np.flatnonzero(missing)[:5] + 1).tolist()
        raise UserError(_('The outcome column "{column}" has {n} empty values (e.g. rows {rows}); fill or '
                          "remove them before training.").format(column=name, n=int(missing.sum()),
                                                                  rows=", ".join(map(str, rows))))
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy().astype(np.int8)
    if pd.api.types.is_numeric_dtype(column):
        numbers = column.to_numpy(dtype=float)
        bad = ~np.isin(numbers, (0.0, 1.0))
        if bad.any():
            _raise_bad(name, column[bad])
        return numbers.astype(np.int8)
    text = column.astype(str).str.strip().str.lower()
    is_true, is_false = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
    bad = ~(is_true | is_false)
    if bad.any():
        _raise_bad(name, column[bad])
    return is_true.astype(np.int8)


def _raise_bad(name: str, bad: pd.Series) -> None:
    examples = ", ".join(repr(v) for v in pd.unique(bad.astype(str))[:5])
    raise UserError(_('The outcome column "{column}" must be binary (0/1, yes/no or true/false); {n} values '
                      "are not, e.g. {examples}.").format(column=name, n=len(bad), examples=examples))


def check_both_outcomes(event: np.ndarray, target: str, folds: int) -> None:
    counts = np.bincount(event, minlength=2)
    if counts.min() < folds:
        raise UserError(_('The outcome column "{column}" needs at least {folds} paid and {folds} unpaid '
                          "accounts for {folds}-fold cross-validation; it has {paid} paid and {unpaid} "
                          "unpaid.").format(column=target, folds=folds, paid=counts[0], unpaid=counts[1]))


@dataclass
class FeatureEncoder:
    """Turns the feature columns into a float matrix; categoricals become level codes.

    Fitted once on the training portfolio; ``transform`` re-applies the same codes to new data
    (unknown levels pool into "(other)" when it exists, else missing).
    """

    features: list[str]
    max_categories: int = 50
    categories_: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame) -> "FeatureEncoder":
        self.categories_ = {}
        for col in self.features:
            if _is_categorical(frame[col]):
                counts = frame[col].dropna().astype(str).value_counts()
                keep = sorted(counts.index[: self.max_categories].tolist())
                if len(counts) > self.max_categories:
                    keep.append(OTHER_LEVEL)
                self.categories_[col] = keep
        return self

    @property
    def categorical(self) -> list[str]:
        return [c for c in self.features if c in self.categories_]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise UserError(_("The portfolio lacks the model's feature columns: {columns}.").format(
                columns=", ".join(missing)))
        out = {}
        for col in self.features:
            out[col] = self._encode(col, frame[col])
        return pd.DataFrame(out, index=frame.index, dtype=float)

    def _encode(self, col: str, values: pd.Series) -> np.ndarray:
        if col not in self.categories_:
            if pd.api.types.is_datetime64_any_dtype(values):
                return (values - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float, na_value=np.nan)
            return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        levels = self.categories_[col]
        text = values.astype("str").where(values.notna())
        codes = pd.Categorical(text, categories=levels).codes.astype(float)
        unknown = text.notna().to_numpy() & (codes < 0)
        codes[codes < 0] = np.nan
        if OTHER_LEVEL in levels:
            codes[unknown] = levels.index(OTHER_LEVEL)
        return codes

    def decode(self, col: str, codes: np.ndarray) -> np.ndarray:
        """Level names for codes of a categorical feature (missing stays None)."""
        levels = np.array(self.categories_[col] + [None], dtype=object)
        idx = np.where(np.isnan(codes), len(levels) - 1, codes).astype(int)
        return levels[idx]

    def to_dict(self) -> dict[str, Any]:
        return {"features": self.features, "max_categories": self.max_categories,
                "categories": self.categories_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureEncoder":
        enc = cls(list(data["features"]), int(data["max_categories"]))
        enc.categories_ = {k: list(v) for k, v in data["categories"].items()}
        return enc


def _is_categorical(values: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
                or pd.api.types.is_datetime64_any_dtype(values))
