"""What the Explanations page shows, worked out without streamlit: table labels and number formats,
captions, tables in the reader's language, the account's explanation to download, the model card.

The risk model (``explain.risk.RiskResult``) stores its texts in the language the run was made in;
the page may be read in another one. Everything here takes the run's data and the reader's
``language`` and returns frames and strings, so ``app_pages/3_explanations.py`` only lays out widgets
and these choices can be tested without a browser. Texts wrapped in ``_()`` follow the current
language, which the page sets before it calls anything here.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import pandas as pd

from core.errors import UserError
from core.formats import format_count, format_number, format_percent
from core.i18n import N_, _
from explain.fairness import cutoff_rule_text, group_label
from explain.model_card import calibration_reason, card_language, model_card
from explain.reasons import feature_label, format_values, top_reasons
from personas.names import display_names

METRIC_LABELS = {"roc_auc": N_("ROC AUC"), "pr_auc": N_("PR AUC (event = NOT paid)"),
                 "brier": N_("Brier score (lower is better)"), "log_loss": N_("Log loss (lower is better)"),
                 "ks": N_("KS statistic")}

#: Human labels of the columns of the tables on this page (keys stay the data's own).
COLUMN_LABELS = {
    "metric": N_("Measure"), "value": N_("Value"), "decile": N_("Decile"), "accounts": N_("Accounts"),
    "not_paid": N_("NOT paid"), "mean_risk_score": N_("Mean risk score"), "min_risk_score": N_("Lowest risk score"),
    "not_paid_rate": N_("NOT-paid rate"), "lift": N_("Lift"),
    "cumulative_share_of_accounts": N_("Cumulative share of accounts"),
    "cumulative_gain": N_("Cumulative share of NOT-paid accounts found"), "cumulative_lift": N_("Cumulative lift"),
    "attribute": N_("Attribute"), "groups": N_("Groups"), "groups_compared": N_("Groups compared"),
    "small_groups": N_("Groups too small to compare"), "adverse_impact_ratio": N_("Adverse impact ratio"),
    "lowest_group": N_("Group with the lowest favourable rate"),
    "highest_group": N_("Group with the highest favourable rate"),
    "demographic_parity_difference": N_("Demographic parity difference"),
    "adverse_impact_warning": N_("Adverse impact warning"), "parity_warning": N_("Parity warning"),
    "disparity_warning": N_("Disparity warning"), "difference_p_value": N_("p-value of the difference"),
    "calibration_gap_groups": N_("Groups with a calibration gap"), "group": N_("Group"),
    "median_risk_score": N_("Median risk score"), "flagged_rate": N_("Flagged high-risk"),
    "observed_not_paid_rate": N_("Observed NOT-paid rate"), "share_of_accounts": N_("Share of accounts"),
    "small_group": N_("Small group"), "favourable_rate": N_("Favourable rate (not flagged)"),
    "calibration_gap": N_("Calibration gap"), "risk_score_p10": N_("Risk score, 10th percentile"),
    "risk_score_p25": N_("Risk score, 25th percentile"), "risk_score_p75": N_("Risk score, 75th percentile"),
    "risk_score_p90": N_("Risk score, 90th percentile"), "feature": N_("Feature"),
    "auc": N_("AUC (predicts the attribute)"), "flagged": N_("Flagged"), "persona_id": N_("Persona"),
    "persona": N_("Name"), "mean risk score (P NOT paid)": N_("Mean risk score (P NOT paid)"),
    "proxy_accounts": N_("Accounts in the proxy check"), "proxy_sampled": N_("Proxy check on a sample"),
    "sampled": N_("Sample"),
}
#: Columns of the fairness tables whose values are group labels the app may have made ("(missing)", "60+").
GROUP_COLUMNS = ("group", "lowest_group", "highest_group")
PERCENT_COLUMNS = {"mean_risk_score", "min_risk_score", "not_paid_rate", "cumulative_share_of_accounts",
                   "cumulative_gain", "median_risk_score", "flagged_rate", "observed_not_paid_rate",
                   "share_of_accounts", "favourable_rate", "calibration_gap", "risk_score_p10", "risk_score_p25",
                   "risk_score_p75", "risk_score_p90", "mean risk score (P NOT paid)"}
DECIMAL_COLUMNS = {"lift", "cumulative_lift", "adverse_impact_ratio", "demographic_parity_difference",
                   "difference_p_value", "auc", "value"}
#: The performance table's number columns: the measure and the ends of its bootstrap interval.
METRIC_NUMBER_COLUMNS = dict.fromkeys(("value", "ci_low", "ci_high"), ("decimal", 3))


# ---------------------------------------------------------------- tables
def column_label(key: str, language: str) -> str:
    """A table column's human label: from the list above, else the column's own name made readable
    (a feature column, named like ``days_past_due``, by its feature label in ``language``)."""
    if key in COLUMN_LABELS:
        return _(COLUMN_LABELS[key])
    return feature_label(key, language) if "_" in key else key


def number_kinds(columns) -> dict[Any, tuple[str, int]]:
    """The number format of each of ``columns`` that holds numbers (``{key: (kind, decimals)}`` as
    ``app_pages._numbers.number_columns`` takes it): shares as percentages with 1 decimal, ratios and
    p-values with 3; counts and texts are left to the table's own format."""
    return {key: ("percent", 1) if str(key) in PERCENT_COLUMNS else ("decimal", 3) for key in columns
            if str(key) in PERCENT_COLUMNS or str(key) in DECIMAL_COLUMNS}


def relabelled(table: pd.DataFrame | None, language: str) -> pd.DataFrame | None:
    """A table of the run's features with their labels in ``language`` (the run may have been made in
    another one); a table without a ``feature`` column is returned as it is."""
    if table is None or "feature" not in table.columns:
        return table
    return table.assign(label=[feature_label(f, language) for f in table["feature"]])


def metric_table(risk: Any) -> pd.DataFrame:
    """The performance measures of ``risk`` with their names in the current language (the model keeps
    them as codes such as ``roc_auc``; an unknown code is shown as it is)."""
    metrics = risk.metric_table()
    metrics["metric"] = metrics["metric"].map(lambda m: _(METRIC_LABELS[m]) if m in METRIC_LABELS else m)
    return metrics


def interval_labels(confidence: float, language: str) -> dict[str, str]:
    """Headers of the performance table's number columns, the interval's level written in ``language``
    ("95 % interval, low")."""
    level = format_percent(confidence, language, 0)
    return {"value": _("Value"), "ci_low": _("{level} interval, low").format(level=level),
            "ci_high": _("{level} interval, high").format(level=level)}


# ---------------------------------------------------------------- captions
def performance_caption(risk: Any, language: str) -> str:
    """How the measures were obtained (folds, accounts, bootstrap) and why the score was or was not
    calibrated: the reader needs both to judge the figures above it."""
    settings = risk.settings
    how = _("{folds}-fold stratified cross-validation on {n} accounts (NOT-paid rate {rate}); intervals from "
            "{resamples} bootstrap resamples.").format(
        folds=settings.cv_folds, n=format_count(risk.n_accounts, language),
        rate=format_percent(risk.not_paid_rate, language), resamples=settings.bootstrap_resamples)
    return how + " " + _("Calibration: {reason}.").format(reason=calibration_reason(risk.calibration, settings))


def shap_caption(shap_meta: dict, language: str) -> str:
    """Which accounts the SHAP values cover (all, or a seeded sample) and the base value they start
    from: a sample changes what the drivers' charts can claim."""
    explained = format_count(shap_meta["accounts_explained"], language)
    total = format_count(shap_meta["accounts_total"], language)
    base_value = format_number(shap_meta["base_value"], language, 3)
    if shap_meta["sampled"]:
        return _("SHAP values for {n} of {total} accounts (seeded sample, seed {seed}); base value {base} "
                 "log-odds.").format(n=explained, total=total, seed=shap_meta["sample_seed"], base=base_value)
    return _("SHAP values for {n} of {total} accounts; base value {base} log-odds.").format(
        n=explained, total=total, base=base_value)


def fairness_caption(risk: Any) -> str:
    """What "flagged high-risk" and the adverse impact ratio mean for this run, in the current language."""
    return _("Flagged high-risk = {rule}. Adverse impact ratio = lowest favourable (not flagged) rate / "
             "highest; below 0.8 is a warning for review, not a verdict. Sensitive attributes are never model "
             "inputs; they are used only here.").format(rule=cutoff_rule_text(risk.fairness, risk.settings))


def proxy_caption(threshold: float, language: str) -> str:
    """What the proxy check's AUC means and where it flags, ``threshold`` written in ``language``."""
    return _("Cross-validated AUC with which the model's features predict each sensitive attribute "
             "(0.5 = not at all; flagged at {threshold}).").format(threshold=format_number(threshold, language))


# ---------------------------------------------------------------- personas
def persona_names(profiles: list[dict] | None) -> dict[int, str]:
    """Each persona's shown name by id (a run without profiles has none: see :func:`persona_name`)."""
    return display_names(profiles)


def persona_name(names: dict[int, str], persona_id: int) -> str:
    """A persona's shown name, "Persona 3" when the run has no name for it."""
    return names.get(persona_id, f"Persona {persona_id}")


def persona_overview(persona_risk: dict[int, float], names: dict[int, str]) -> pd.DataFrame:
    """One row per persona: id, name and mean risk score, in the order the model lists them."""
    overview = pd.DataFrame({"persona_id": list(persona_risk),
                             "mean risk score (P NOT paid)": list(persona_risk.values())})
    overview.insert(1, "persona", overview["persona_id"].map(lambda i: persona_name(names, i)))
    return overview


# ---------------------------------------------------------------- one account
def account_words(risk: Any, account_id: str, data: dict, language: str) -> tuple[pd.DataFrame, str]:
    """The waterfall's contributions and the account's main reasons in ``language``: the stored
    reasons are in the run's language, so they are written again from the account's SHAP values and
    values when the page speaks another one (and the account's values are in the stored table)."""
    table = relabelled(data["contributions"], language)
    reasons = data["reasons"]
    if language != risk.settings.language and account_id in risk.shap.values.index:
        raw = risk.shap.feature_values.loc[[account_id]]
        currency = risk.settings.currency
        table = table.assign(value=[format_values(f, raw[f], language, currency)[0] for f in table["feature"]])
        written = top_reasons(risk.shap.values.loc[[account_id]], raw, language, currency=currency)[0]
        reasons = written or reasons
    return table, reasons


def explanation_json(account_id: str, data: dict) -> str:
    """One account's explanation as the JSON the page offers: the stored reasons and contributions,
    with the direction of the score and the scale of the SHAP values spelled out for whoever reads it."""
    export = {"account_id": account_id, "risk_score": data["risk_score"],
              "score_direction": "probability of NOT paying", "reasons": data["reasons"],
              "shap_scale": "log-odds of NOT paying", "base_value": data["base_value"],
              "contributions": data["contributions"][["label", "value", "contribution"]].to_dict("records")}
    return json.dumps(export, indent=2, ensure_ascii=False)


# ---------------------------------------------------------------- fairness
def _group_list(value: Any) -> Any:
    """A list of groups as one comma-separated text of their labels; anything else as it is."""
    return ", ".join(group_label(g) for g in value) if isinstance(value, list) else value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def with_group_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """The fairness table with the app's own group words in the current language."""
    frame = frame.copy()
    for column in GROUP_COLUMNS:
        if column in frame:
            # a missing group arrives as None or, through pandas, as NaN: either stays empty, never "nan"
            frame[column] = frame[column].map(lambda g: None if _missing(g) else group_label(g))
    if "small_groups" in frame:
        frame["small_groups"] = frame["small_groups"].map(_group_list)
    if "feature" in frame:
        frame["feature"] = frame["feature"].map(lambda f: _("(all features)") if f == "(all features)" else f)
    return frame


def fairness_summary(summary: list[dict]) -> pd.DataFrame:
    """The fairness report's summary (one row per sensitive attribute) as shown: group words in the
    current language, lists of groups as text; the warnings are shown above it, not in it."""
    table = with_group_labels(pd.DataFrame(summary).drop(columns=["warnings", "warning_codes"], errors="ignore"))
    if "calibration_gap_groups" in table:
        table["calibration_gap_groups"] = table["calibration_gap_groups"].map(_group_list)
    return table


def attribute_groups(groups: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """The group table of one sensitive attribute, with its group words in the current language."""
    return with_group_labels(groups[groups["attribute"] == attribute])


# ---------------------------------------------------------------- model card
def data_summary_of(run: Any, portfolio: Any) -> dict | None:
    """What the model card's Data section lists, for a saved run (which keeps it only in its stored card):
    rebuilt from ``portfolio`` (the open portfolio when it is the run's own, else ``None``)."""
    if portfolio is None:
        return None
    try:
        from application.pipeline import _data_summary
        from personas.settings import RunSettings

        settings = RunSettings.from_dict(run.meta["parameters"]["settings"])
        return _data_summary(portfolio, run.meta, settings)
    except (UserError, ImportError, AttributeError, KeyError, TypeError, ValueError):
        return None  # the card then points to the stored card for the rows and columns


def card_for_reader(run: Any, language: str, portfolio: Callable[[], Any]) -> tuple[str, str]:
    """The model card in ``language``, and the card as stored with the run.

    The stored card (``model_card.md``) is shown as it is when it is in the reader's language;
    otherwise the card is written again from the run's figures, in the reader's language, dated
    when the run was made. ``portfolio`` gives the run's own portfolio (or ``None``); it is asked
    only when the card is rewritten and the run has no data summary yet, since opening it costs."""
    risk = run.risk
    stored = risk.model_card()
    if risk.saved_card is None or card_language(stored) == language:
        return stored, stored
    if risk.data_summary is None:
        risk.data_summary = data_summary_of(run, portfolio())
    return model_card(risk, language, created=run.meta.get("created_at")), stored


def card_file_name(card: str, stored: str, language: str) -> str:
    """The model card download's file name: the stored card keeps its name, one written for the reader
    is named by its language."""
    return "model_card.md" if card is stored else f"model_card_{language}.md"
