"""Explanations: how good the risk score is, what drives it, per persona and per account, fairness, model card.

The risk score is the probability that an account is NOT paid (higher = riskier). Everything shown is
computed in ``explain/`` during the run; this page only lays it out.
"""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from explain import charts
from explain.fairness import cutoff_rule_text, group_label, warning_texts
from explain.model_card import calibration_reason, card_language, event_word, model_card
from explain.reasons import feature_label, format_values, top_reasons
from personas.names import display_name
from app_pages._numbers import number_columns
from app_pages._state import current_run, page_language, require_role, show_error
from core.charts import fit_width
from core.errors import UserError
from core.formats import format_count, format_number, format_percent
from core.i18n import N_, _
from core.text import defang_markdown, escape_markdown

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


def column_label(key: str) -> str:
    """A table column's human label: from the list above, else the column's own name made readable."""
    if key in COLUMN_LABELS:
        return _(COLUMN_LABELS[key])
    return feature_label(key, language) if "_" in key else key


def table_args(frame: pd.DataFrame) -> dict:
    """``st.dataframe`` arguments for ``frame``: labels and number formats (shares as percentages, ratios
    with 3 decimals; in German written as text, see app_pages/_numbers.py)."""
    kinds = {key: ("percent", 1) if str(key) in PERCENT_COLUMNS else ("decimal", 3) for key in frame.columns
             if str(key) in PERCENT_COLUMNS or str(key) in DECIMAL_COLUMNS}
    shown, numbers = number_columns(frame, kinds, language, labels={key: column_label(str(key)) for key in kinds})
    return {"data": shown, "column_config": {key: numbers.get(key, column_label(str(key))) for key in frame.columns}}


def chart(spec) -> None:
    """A chart with the reader's number formats on its axes (German: "0,25", "12 %")."""
    shown = charts.localised(spec, language)
    st.altair_chart(fit_width(shown), width="stretch")


def relabelled(table: pd.DataFrame) -> pd.DataFrame:
    """A table of the run's features with their labels in the page's language (the run may have
    been made in another one)."""
    if table is None or "feature" not in table.columns:
        return table
    return table.assign(label=[feature_label(f, language) for f in table["feature"]])


def account_words(account_id: str, data: dict) -> tuple[pd.DataFrame, str]:
    """The waterfall's contributions and the account's main reasons in the page's language: the stored
    reasons are in the run's language, so they are written again from the account's SHAP values and
    values when the page speaks another one (and the account's values are in the stored table)."""
    table = relabelled(data["contributions"])
    reasons = data["reasons"]
    if language != risk.settings.language and account_id in risk.shap.values.index:
        raw = risk.shap.feature_values.loc[[account_id]]
        currency = risk.settings.currency
        table = table.assign(value=[format_values(f, raw[f], language, currency)[0] for f in table["feature"]])
        written = top_reasons(risk.shap.values.loc[[account_id]], raw, language, currency=currency)[0]
        reasons = written or reasons
    return table, reasons


def with_group_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """The fairness table with the app's own group words in the page's language."""
    frame = frame.copy()
    for column in GROUP_COLUMNS:
        if column in frame:
            frame[column] = frame[column].map(lambda g: g if g is None else group_label(g))
    if "small_groups" in frame:
        frame["small_groups"] = frame["small_groups"].map(
            lambda v: ", ".join(group_label(g) for g in v) if isinstance(v, list) else v)
    if "feature" in frame:
        frame["feature"] = frame["feature"].map(lambda f: _("(all features)") if f == "(all features)" else f)
    return frame


def data_summary_of(run) -> dict | None:
    """What the model card's Data section lists, for a saved run (which keeps it only in its stored card):
    rebuilt from the open portfolio when it is the run's own; ``None`` otherwise."""
    from app_pages._state import portfolio_of

    portfolio = portfolio_of(run)
    if portfolio is None:
        return None
    try:
        from application.pipeline import _data_summary
        from personas.settings import RunSettings

        settings = RunSettings.from_dict(run.meta["parameters"]["settings"])
        return _data_summary(portfolio, run.meta, settings)
    except (UserError, ImportError, AttributeError, KeyError, TypeError, ValueError):
        return None  # the card then points to the stored card for the rows and columns


def card_for_reader(run) -> tuple[str, str]:
    """The model card in the page's language, and the card as stored with the run.

    The stored card (``model_card.md``) is shown as it is when it is in the reader's language;
    otherwise the card is written again from the run's figures, in the reader's language, dated
    when the run was made."""
    stored = risk.model_card()
    if risk.saved_card is None or card_language(stored) == language:
        return stored, stored
    if risk.data_summary is None:
        risk.data_summary = data_summary_of(run)
    return model_card(risk, language, created=run.meta.get("created_at")), stored


require_role()
language = page_language()
st.title(_("Explanations"))

try:
    run = current_run()
except UserError as err:
    show_error(err)
    st.stop()
risk = getattr(run, "risk", None) if run is not None else None
if risk is None:
    st.info(_("There is no risk model in the current run. Choose the outcome column (for example "
              "`paid_90d`) on the **Portfolio** page, then press **Find personas** on the **Personas** page; or on "
              "the command line: `personas run FILE --out DIR --target paid_90d`. Nothing is guessed: without a "
              "named outcome no risk score is computed."))
    st.stop()

st.caption(_("Risk score = probability that the account is **NOT paid** (outcome {target}, {event}); "
             "higher = riskier. Scores are out-of-fold; SHAP values are on the log-odds of NOT paying "
             "(+ raises risk).").format(target=escape_markdown(risk.target),
                                        event=escape_markdown(event_word(risk.target_event))))
st.warning(_("The score supports people, it does not decide. Check the reasons and the account before "
             "acting; a precise-looking number invites over-reliance (automation bias)."), icon="⚠️")

tab_perf, tab_drivers, tab_personas, tab_account, tab_fair, tab_card = st.tabs(
    [_("Performance"), _("Drivers"), _("Personas"), _("Account look-up"), _("Fairness"), _("Model card")])

# ---------------------------------------------------------------- performance
with tab_perf:
    metrics = risk.metric_table()
    metrics["metric"] = metrics["metric"].map(lambda m: _(METRIC_LABELS[m]) if m in METRIC_LABELS else m)
    level = format_percent(risk.settings.confidence, language, 0)
    metrics, config = number_columns(
        metrics, dict.fromkeys(("value", "ci_low", "ci_high"), ("decimal", 3)), language,
        {"value": _("Value"), "ci_low": _("{level} interval, low").format(level=level),
         "ci_high": _("{level} interval, high").format(level=level)})
    config["metric"] = _("Measure")
    st.dataframe(metrics, hide_index=True, column_config={c: config.get(c, column_label(c)) for c in metrics.columns})
    cal = risk.calibration
    st.caption(_("{folds}-fold stratified cross-validation on {n} accounts (NOT-paid rate {rate}); intervals from "
                 "{resamples} bootstrap resamples.").format(
        folds=risk.settings.cv_folds, n=format_count(risk.n_accounts, language),
        rate=format_percent(risk.not_paid_rate, language), resamples=risk.settings.bootstrap_resamples)
        + " " + _("Calibration: {reason}.").format(reason=calibration_reason(cal, risk.settings)))
    left, right = st.columns(2)
    with left:
        chart(charts.roc_chart(risk.roc_curve()))
    with right:
        chart(charts.pr_chart(risk.pr_curve(), risk.not_paid_rate))
    with left:
        chart(charts.calibration_chart(risk.calibration_curve(),
                                       risk.curves.get("reliability_uncalibrated") if cal["calibrated"] else None))
    with right:
        chart(charts.gains_chart(risk.gains()))
    with st.expander(_("Lift and gains by decile (decile 1 = riskiest 10 %)")):
        gains = risk.gains()
        st.dataframe(**table_args(gains), hide_index=True)

# ---------------------------------------------------------------- drivers (global SHAP)
with tab_drivers:
    shap_meta = risk.shap.meta()
    explained = format_count(shap_meta["accounts_explained"], language)
    total = format_count(shap_meta["accounts_total"], language)
    base_value = format_number(shap_meta["base_value"], language, 3)
    if shap_meta["sampled"]:
        st.caption(_("SHAP values for {n} of {total} accounts (seeded sample, seed {seed}); base value {base} "
                     "log-odds.").format(n=explained, total=total, seed=shap_meta["sample_seed"], base=base_value))
    else:
        st.caption(_("SHAP values for {n} of {total} accounts; base value {base} log-odds.").format(
            n=explained, total=total, base=base_value))
    importance = relabelled(risk.global_importance())
    chart(charts.importance_chart(importance))
    chart(charts.beeswarm_chart(relabelled(risk.beeswarm())))
    labels = {feature_label(f, language): f for f in importance["feature"]}
    chosen = st.selectbox(_("Dependence plot for"), list(labels), key="explain_dependence_feature")
    feature = labels[chosen]
    chart(charts.dependence_chart(risk.dependence(feature), chosen, feature in risk.categorical_features))

# ---------------------------------------------------------------- personas
with tab_personas:
    table = risk.persona_explanation()
    if table is None or table.empty:
        st.info(_("This run has no personas to explain."))
    else:
        names = {int(p["persona_id"]): display_name(p) for p in (getattr(run, "profiles", None) or [])}
        overview = pd.DataFrame({"persona_id": list(risk.persona_risk),
                                 "mean risk score (P NOT paid)": list(risk.persona_risk.values())})
        overview.insert(1, "persona", overview["persona_id"].map(lambda i: names.get(i, f"Persona {i}")))
        st.dataframe(**table_args(overview), hide_index=True)
        ids = sorted(table["persona_id"].unique().tolist())
        persona_id = st.selectbox(_("Persona"), ids, format_func=lambda i: names.get(i, f"Persona {i}"),
                                  key="explain_persona")
        one = table[table["persona_id"] == persona_id]
        st.caption(_("Mean SHAP value of each feature in this persona minus the portfolio mean: red features "
                     "make the persona riskier than average, blue ones safer."))
        chart(charts.persona_chart(relabelled(one)))

# ---------------------------------------------------------------- one account
with tab_account:
    account_id = st.text_input(_("Account id"), key="explain_account_id",
                               placeholder=str(risk.scores["account_id"].iloc[0])).strip()
    if account_id:
        known = risk.scores["account_id"] == account_id
        if not known.any():
            st.warning(_("No account {account} in this run. Check the id (e.g. {example}).").format(
                account=escape_markdown(repr(account_id)), example=escape_markdown(risk.scores["account_id"].iloc[0])))
        elif not risk.has_account(account_id):
            row = risk.scores[known].iloc[0]
            st.metric(_("Risk score (P NOT paid)"), format_percent(row["risk_score"], language))
            st.info(_("This account is outside the SHAP sample of this run, so it has no waterfall."))
        else:
            data = risk.waterfall(account_id)
            contributions, reasons = account_words(account_id, data)
            first, second, third = st.columns(3)
            first.metric(_("Risk score (P NOT paid, out-of-fold)"), format_percent(data["risk_score"], language),
                         help=_("The account's score from the model fold that did not see it: the figure used "
                                "everywhere else."))
            second.metric(_("Model probability (explained)"), format_percent(data["probability"], language),
                          help=_("What the explained model gives this account; the bars below add up to it."))
            third.metric(_("Portfolio base rate (model)"), format_percent(data["base_probability"], language),
                         help=_("Where every explanation starts: the model's average over the portfolio."))
            st.markdown(_("**Main reasons:** ") + (defang_markdown(reasons) or "–"))
            chart(charts.waterfall_chart(dict(data, contributions=contributions)))
            export = {"account_id": account_id, "risk_score": data["risk_score"],
                      "score_direction": "probability of NOT paying", "reasons": data["reasons"],
                      "shap_scale": "log-odds of NOT paying", "base_value": data["base_value"],
                      "contributions": data["contributions"][["label", "value", "contribution"]].to_dict("records")}
            st.download_button(_("Download this explanation (JSON)"), json.dumps(export, indent=2, ensure_ascii=False),
                               file_name=f"explanation_{account_id}.json", mime="application/json")

# ---------------------------------------------------------------- fairness
with tab_fair:
    fairness = risk.fairness
    st.caption(_("Flagged high-risk = {rule}. Adverse impact ratio = lowest favourable (not flagged) rate / "
                 "highest; below 0.8 is a warning for review, not a verdict. Sensitive attributes are never model "
                 "inputs; they are used only here.").format(rule=cutoff_rule_text(fairness, risk.settings)))
    for warning in warning_texts(fairness, risk.settings):
        st.warning(warning)
    if not fairness.summary:
        st.info(_("No sensitive attribute (e.g. age, gender) was present, so no group analysis was possible."))
    else:
        summary = with_group_labels(pd.DataFrame(fairness.summary).drop(columns=["warnings", "warning_codes"],
                                                                         errors="ignore"))
        for column in ("small_groups", "calibration_gap_groups"):
            if column in summary:
                summary[column] = summary[column].map(
                    lambda v: ", ".join(group_label(g) for g in v) if isinstance(v, list) else v)
        st.dataframe(**table_args(summary), hide_index=True)
        for attribute in [s["attribute"] for s in fairness.summary]:
            st.subheader(attribute)
            chart(charts.fairness_chart(fairness.groups, attribute))
            groups = with_group_labels(fairness.groups[fairness.groups["attribute"] == attribute])
            st.dataframe(**table_args(groups), hide_index=True)
        st.subheader(_("Proxy check"))
        st.caption(_("Cross-validated AUC with which the model's features predict each sensitive attribute "
                     "(0.5 = not at all; flagged at {threshold}).").format(
            threshold=format_number(risk.settings.proxy_auc_threshold, language)))
        proxies = with_group_labels(fairness.proxies)
        st.dataframe(**table_args(proxies), hide_index=True)

# ---------------------------------------------------------------- model card
with tab_card:
    card, stored = card_for_reader(run)
    st.download_button(_("Download model card (Markdown)"), card, file_name=f"model_card_{language}.md"
                       if card is not stored else "model_card.md", mime="text/markdown")
    if card is not stored:
        st.caption(_("The card is written in the language of this page from the run's figures; the run keeps the "
                     "card it was made with."))
        st.download_button(_("Download the card stored with the run (Markdown)"), stored, file_name="model_card.md",
                           mime="text/markdown", key="explain_stored_card")
    st.markdown(defang_markdown(card))  # fields come from files and people: no images, no links
