"""Altair charts of a :class:`~explain.risk.RiskResult` (no streamlit: pages only place them).

Every chart says which way the risk score runs: probability of NOT paying, higher = riskier;
SHAP values are on the log-odds of NOT paying (positive = raises risk).

Titles, axis and legend titles, tooltip titles and the words a chart shows as data (legend entries,
"raises risk") come from the message catalogue in the current language (:mod:`core.i18n`); the pages
add the reader's number formats with :func:`core.formats.localise_chart` and give each chart the box
height the chart asks for (the pages show it with :func:`core.charts.fit_width`). Data keys (the fields) stay English.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.i18n import N_, _, ngettext
from explain.fairness import group_label

RAISES, LOWERS = "#c0392b", "#2e86c1"
MAX_POINTS = 4_000  # altair's default inline-data limit is 5,000 rows
SHAP_AXIS = N_("SHAP value (log-odds of NOT paying; + raises risk)")
RAISES_RISK, LOWERS_RISK = N_("raises risk"), N_("lowers risk")


def localised(chart: alt.TopLevelMixin, language: str | None = None, currency=None) -> alt.TopLevelMixin:
    """The chart with the reader's number and date formats (:func:`core.formats.localise_chart`); in
    German the percent sign stands apart from the number, as German writes it ("12 %", "0,5 %")."""
    from core.formats import localise_chart
    from core.i18n import current_language

    shown = localise_chart(chart, language, currency)
    if (language or current_language()) == "de":
        shown.config.locale.number = dict(shown.config.locale.number, percent="\u00a0%")
    return shown


def _tip(field: str, title: str, **kwargs) -> alt.Tooltip:
    """A tooltip line with a title in the reader's language (the field stays the data's key)."""
    return alt.Tooltip(field, title=title, **kwargs)


def _diagonal(name_x: str, name_y: str) -> alt.Chart:
    line = pd.DataFrame({name_x: [0.0, 1.0], name_y: [0.0, 1.0]})
    return alt.Chart(line).mark_line(strokeDash=[4, 4], color="grey").encode(x=name_x, y=name_y)


def roc_chart(roc: pd.DataFrame) -> alt.Chart:
    fpr, tpr = _("False positive rate (paid accounts flagged)"), _("True positive rate (NOT-paid accounts flagged)")
    curve = alt.Chart(roc).mark_line().encode(
        x=alt.X("false_positive_rate:Q", title=fpr),
        y=alt.Y("true_positive_rate:Q", title=tpr),
        tooltip=[_tip("threshold:Q", _("Threshold (risk score)"), format=".3f"),
                 _tip("false_positive_rate:Q", _("False positive rate"), format=".1%"),
                 _tip("true_positive_rate:Q", _("True positive rate"), format=".1%")])
    return (curve + _diagonal("false_positive_rate", "true_positive_rate")).properties(
        title=_("ROC curve"), height=260)


def pr_chart(pr: pd.DataFrame, base_rate: float) -> alt.Chart:
    curve = alt.Chart(pr).mark_line().encode(
        x=alt.X("recall:Q", title=_("Recall of NOT-paid accounts")),
        y=alt.Y("precision:Q", title=_("Precision"), scale=alt.Scale(domain=[0, 1])),
        tooltip=[_tip("threshold:Q", _("Threshold (risk score)"), format=".3f"),
                 _tip("recall:Q", _("Recall"), format=".1%"), _tip("precision:Q", _("Precision"), format=".1%")])
    base = alt.Chart(pd.DataFrame({"rate": [base_rate]})).mark_rule(strokeDash=[4, 4], color="grey").encode(
        y="rate:Q", tooltip=[_tip("rate:Q", _("NOT-paid rate of the portfolio"), format=".1%")])
    return (curve + base).properties(title=_("Precision–recall (event = NOT paid)"), height=260)


def calibration_chart(reported: pd.DataFrame, uncalibrated: pd.DataFrame | None = None) -> alt.Chart:
    parts = [reported.assign(scores=_("reported risk score"))]
    if uncalibrated is not None:
        parts.append(uncalibrated.assign(scores=_("before calibration")))
    data = pd.concat(parts, ignore_index=True)
    points = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("mean_predicted_risk:Q", title=_("Mean predicted risk (P NOT paid)"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("observed_not_paid_rate:Q", title=_("Observed NOT-paid rate"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("scores:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=320)),
        tooltip=[_tip("scores:N", _("Scores")),
                 _tip("mean_predicted_risk:Q", _("Mean predicted risk"), format=".1%"),
                 _tip("observed_not_paid_rate:Q", _("Observed NOT-paid rate"), format=".1%"),
                 _tip("accounts:Q", _("Accounts"), format=",d")])
    return (points + _diagonal("mean_predicted_risk", "observed_not_paid_rate")).properties(
        title=_("Reliability (10 equal-count bins)"), height=260)


def gains_chart(gains: pd.DataFrame) -> alt.Chart:
    data = pd.concat([pd.DataFrame({"cumulative_share_of_accounts": [0.0], "cumulative_gain": [0.0]}),
                      gains[["cumulative_share_of_accounts", "cumulative_gain", "decile", "lift"]]])
    curve = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("cumulative_share_of_accounts:Q", title=_("Share of accounts, riskiest first"),
                axis=alt.Axis(format="%")),
        y=alt.Y("cumulative_gain:Q", title=_("Share of NOT-paid accounts found"), axis=alt.Axis(format="%")),
        tooltip=[_tip("decile:Q", _("Decile")), _tip("cumulative_gain:Q", _("NOT-paid accounts found"), format=".0%"),
                 _tip("lift:Q", _("Lift"), format=".2f")])
    return (curve + _diagonal("cumulative_share_of_accounts", "cumulative_gain")).properties(
        title=_("Cumulative gains by decile"), height=260)


def importance_chart(importance: pd.DataFrame, top: int = 15) -> alt.Chart:
    data = importance.head(top)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("mean_abs_shap:Q", title=_("Mean |SHAP| (log-odds of NOT paying)")),
        y=alt.Y("label:N", sort=data["label"].tolist(), title=None, axis=alt.Axis(labelLimit=320)),
        tooltip=[_tip("label:N", _("Feature")), _tip("mean_abs_shap:Q", _("Mean |SHAP|"), format=".3f")]).properties(
        title=_("What drives the risk score overall"), height=max(160, 22 * len(data)))


def beeswarm_chart(points: pd.DataFrame, top: int = 12) -> alt.Chart:
    data = points[points["importance_rank"] < top]
    accounts = data["account_id"].drop_duplicates()
    per_feature = max(1, MAX_POINTS // max(1, data["feature"].nunique()))
    data = data[data["account_id"].isin(accounts.head(per_feature))]
    order = data.drop_duplicates("label").sort_values("importance_rank")["label"].tolist()
    return alt.Chart(data).mark_circle(size=14, opacity=0.6).encode(
        x=alt.X("shap:Q", title=_(SHAP_AXIS)),
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
        yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-1, 1])),
        color=alt.Color("value_percentile:Q", title=_("Feature value (rank)"),
                        scale=alt.Scale(scheme="redblue", reverse=True)),
        tooltip=[_tip("account_id:N", _("Account id")), _tip("label:N", _("Feature")),
                 _tip("feature_value:N", _("Value")), _tip("shap:Q", _("SHAP value"), format=".3f")],
    ).transform_calculate(jitter="sqrt(-2*log(random()))*cos(2*PI*random())/3").properties(
        title=_("Each dot is an account: where it pushes the risk"), height=max(200, 34 * len(order)))


def dependence_chart(data: pd.DataFrame, label: str, categorical: bool) -> alt.Chart:
    if len(data) > MAX_POINTS:
        data = data.sample(MAX_POINTS, random_state=0)
    x = alt.X("shown_value:N", title=label) if categorical else alt.X("value:Q", title=label)
    return alt.Chart(data).mark_circle(size=14, opacity=0.5).encode(
        x=x, y=alt.Y("shap:Q", title=_(SHAP_AXIS)),
        tooltip=[_tip("account_id:N", _("Account id")), _tip("shown_value:N", label),
                 _tip("shap:Q", _("SHAP value"), format=".3f")]).properties(
        title=_("Dependence: {feature}").format(feature=label), height=300)


def persona_chart(table: pd.DataFrame, top: int = 10) -> alt.Chart:
    data = table.reindex(table["difference"].abs().sort_values(ascending=False).index).head(top)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("difference:Q", title=_("Mean SHAP vs portfolio (log-odds; + = riskier than average)")),
        y=alt.Y("label:N", sort=data["label"].tolist(), title=None, axis=alt.Axis(labelLimit=320)),
        color=alt.condition(alt.datum.difference > 0, alt.value(RAISES), alt.value(LOWERS)),
        tooltip=[_tip("label:N", _("Feature")), _tip("difference:Q", _("Difference"), format=".3f"),
                 _tip("persona_mean_shap:Q", _("Mean SHAP in the persona"), format=".3f"),
                 _tip("portfolio_mean_shap:Q", _("Mean SHAP in the portfolio"), format=".3f")]).properties(
        height=max(160, 24 * len(data)))


def waterfall_frame(waterfall: dict, top: int = 10) -> pd.DataFrame:
    """Bars for the waterfall: the ``top`` contributions, the rest pooled, from base to total."""
    table = waterfall["contributions"]
    head, rest = table.head(top), table.iloc[top:]
    rows = [{"step": f"{r.label} = {r.value}", "contribution": r.contribution} for r in head.itertuples()]
    if len(rest):
        rows.append({"step": ngettext("{n} other feature", "{n} other features", len(rest)).format(n=len(rest)),
                     "contribution": float(rest["contribution"].sum())})
    data = pd.DataFrame(rows)
    data["end"] = waterfall["base_value"] + data["contribution"].cumsum()
    data["start"] = data["end"] - data["contribution"]
    raises, lowers = _(RAISES_RISK), _(LOWERS_RISK)
    data["effect"] = [raises if c > 0 else lowers for c in data["contribution"]]
    return data


def waterfall_chart(waterfall: dict, top: int = 10) -> alt.Chart:
    data = waterfall_frame(waterfall, top)
    order = data["step"].tolist()
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("step:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("start:Q", title=_("Log-odds of NOT paying (base value → this account)")), x2="end:Q",
        color=alt.Color("effect:N", scale=alt.Scale(domain=[_(RAISES_RISK), _(LOWERS_RISK)], range=[RAISES, LOWERS]),
                        legend=alt.Legend(orient="bottom", title=None)),
        tooltip=[_tip("step:N", _("Feature")), _tip("contribution:Q", _("Contribution (log-odds)"), format="+.3f")])
    marks = pd.DataFrame({"at": [waterfall["base_value"], waterfall["log_odds"]],
                          "what": [_("base value"), _("this account")]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[3, 3], color="grey").encode(
        x="at:Q", tooltip=[_tip("what:N", _("Mark")), _tip("at:Q", _("Log-odds"), format=".3f")])
    return (bars + rules).properties(height=max(180, 26 * len(data)))


def fairness_chart(groups: pd.DataFrame, attribute: str) -> alt.Chart:
    data = groups[groups["attribute"] == attribute].copy()
    data["group"] = data["group"].map(group_label)  # the app's own group words in the reader's language
    data["small_group"] = data["small_group"].map(lambda small: _("yes") if small else _("no"))
    # Horizontal bars: group names read left to right at any number of groups (vertical bars rotated them).
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("group:N", title=attribute, sort=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("flagged_rate:Q", title=_("Share flagged high-risk"), axis=alt.Axis(format="%")),
        color=alt.condition(alt.datum.small_group == _("yes"), alt.value("#bbbbbb"), alt.value("#7f8c8d")),
        tooltip=[_tip("group:N", _("Group")), _tip("accounts:Q", _("Accounts"), format=",d"),
                 _tip("flagged_rate:Q", _("Flagged high-risk"), format=".1%"),
                 _tip("mean_risk_score:Q", _("Mean risk score"), format=".3f"),
                 _tip("small_group:N", _("Small group"))]).properties(
        height=max(120, 26 * len(data)))
