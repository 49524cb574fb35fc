"""Altair charts of a :class:`~explain.risk.RiskResult` (no streamlit: pages only place them).

Every chart says which way the risk score runs: probability of NOT paying, higher = riskier;
SHAP values are on the log-odds of NOT paying (positive = raises risk).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

RAISES, LOWERS = "#c0392b", "#2e86c1"
MAX_POINTS = 4_000  # altair's default inline-data limit is 5,000 rows
SHAP_AXIS = "SHAP value (log-odds of NOT paying; + raises risk)"


def _diagonal(name_x: str, name_y: str) -> alt.Chart:
    line = pd.DataFrame({name_x: [0.0, 1.0], name_y: [0.0, 1.0]})
    return alt.Chart(line).mark_line(strokeDash=[4, 4], color="grey").encode(x=name_x, y=name_y)


def roc_chart(roc: pd.DataFrame) -> alt.Chart:
    curve = alt.Chart(roc).mark_line().encode(
        x=alt.X("false_positive_rate:Q", title="False positive rate (paid accounts flagged)"),
        y=alt.Y("true_positive_rate:Q", title="True positive rate (NOT-paid accounts flagged)"),
        tooltip=["threshold:Q", "false_positive_rate:Q", "true_positive_rate:Q"])
    return (curve + _diagonal("false_positive_rate", "true_positive_rate")).properties(title="ROC curve", height=260)


def pr_chart(pr: pd.DataFrame, base_rate: float) -> alt.Chart:
    curve = alt.Chart(pr).mark_line().encode(
        x=alt.X("recall:Q", title="Recall of NOT-paid accounts"),
        y=alt.Y("precision:Q", title="Precision", scale=alt.Scale(domain=[0, 1])),
        tooltip=["threshold:Q", "recall:Q", "precision:Q"])
    base = alt.Chart(pd.DataFrame({"rate": [base_rate]})).mark_rule(strokeDash=[4, 4], color="grey").encode(y="rate:Q")
    return (curve + base).properties(title="Precision–recall (event = NOT paid)", height=260)


def calibration_chart(reported: pd.DataFrame, uncalibrated: pd.DataFrame | None = None) -> alt.Chart:
    parts = [reported.assign(scores="reported risk score")]
    if uncalibrated is not None:
        parts.append(uncalibrated.assign(scores="before calibration"))
    data = pd.concat(parts, ignore_index=True)
    points = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("mean_predicted_risk:Q", title="Mean predicted risk (P NOT paid)", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("observed_not_paid_rate:Q", title="Observed NOT-paid rate", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("scores:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["scores:N", "mean_predicted_risk:Q", "observed_not_paid_rate:Q", "accounts:Q"])
    return (points + _diagonal("mean_predicted_risk", "observed_not_paid_rate")).properties(
        title="Reliability (10 equal-count bins)", height=260)


def gains_chart(gains: pd.DataFrame) -> alt.Chart:
    data = pd.concat([pd.DataFrame({"cumulative_share_of_accounts": [0.0], "cumulative_gain": [0.0]}),
                      gains[["cumulative_share_of_accounts", "cumulative_gain", "decile", "lift"]]])
    curve = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("cumulative_share_of_accounts:Q", title="Share of accounts, riskiest first", axis=alt.Axis(format="%")),
        y=alt.Y("cumulative_gain:Q", title="Share of NOT-paid accounts found", axis=alt.Axis(format="%")),
        tooltip=["decile:Q", alt.Tooltip("cumulative_gain:Q", format=".0%"), alt.Tooltip("lift:Q", format=".2f")])
    return (curve + _diagonal("cumulative_share_of_accounts", "cumulative_gain")).properties(
        title="Cumulative gains by decile", height=260)


def importance_chart(importance: pd.DataFrame, top: int = 15) -> alt.Chart:
    data = importance.head(top)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("mean_abs_shap:Q", title="Mean |SHAP| (log-odds of NOT paying)"),
        y=alt.Y("label:N", sort=data["label"].tolist(), title=None),
        tooltip=["label:N", alt.Tooltip("mean_abs_shap:Q", format=".3f")]).properties(
        title="What drives the risk score overall", height=max(160, 22 * len(data)))


def beeswarm_chart(points: pd.DataFrame, top: int = 12) -> alt.Chart:
    data = points[points["importance_rank"] < top]
    accounts = data["account_id"].drop_duplicates()
    per_feature = max(1, MAX_POINTS // max(1, data["feature"].nunique()))
    data = data[data["account_id"].isin(accounts.head(per_feature))]
    order = data.drop_duplicates("label").sort_values("importance_rank")["label"].tolist()
    return alt.Chart(data).mark_circle(size=14, opacity=0.6).encode(
        x=alt.X("shap:Q", title=SHAP_AXIS),
        y=alt.Y("label:N", sort=order, title=None),
        yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-1, 1])),
        color=alt.Color("value_percentile:Q", title="Feature value (rank)",
                        scale=alt.Scale(scheme="redblue", reverse=True)),
        tooltip=["account_id:N", "label:N", "feature_value:N", alt.Tooltip("shap:Q", format=".3f")],
    ).transform_calculate(jitter="sqrt(-2*log(random()))*cos(2*PI*random())/3").properties(
        title="Each dot is an account: where it pushes the risk", height=max(200, 34 * len(order)))


def dependence_chart(data: pd.DataFrame, label: str, categorical: bool) -> alt.Chart:
    if len(data) > MAX_POINTS:
        data = data.sample(MAX_POINTS, random_state=0)
    x = alt.X("shown_value:N", title=label) if categorical else alt.X("value:Q", title=label)
    return alt.Chart(data).mark_circle(size=14, opacity=0.5).encode(
        x=x, y=alt.Y("shap:Q", title=SHAP_AXIS),
        tooltip=["account_id:N", "shown_value:N", alt.Tooltip("shap:Q", format=".3f")]).properties(
        title=f"Dependence: {label}", height=300)


def persona_chart(table: pd.DataFrame, top: int = 10) -> alt.Chart:
    data = table.reindex(table["difference"].abs().sort_values(ascending=False).index).head(top)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("difference:Q", title="Mean SHAP vs portfolio (log-odds; + = riskier than average)"),
        y=alt.Y("label:N", sort=data["label"].tolist(), title=None),
        color=alt.condition(alt.datum.difference > 0, alt.value(RAISES), alt.value(LOWERS)),
        tooltip=["label:N", alt.Tooltip("difference:Q", format=".3f"),
                 alt.Tooltip("persona_mean_shap:Q", format=".3f"),
                 alt.Tooltip("portfolio_mean_shap:Q", format=".3f")]).properties(height=max(160, 24 * len(data)))


def waterfall_frame(waterfall: dict, top: int = 10) -> pd.DataFrame:
    """Bars for the waterfall: the ``top`` contributions, the rest pooled, from base to total."""
    table = waterfall["contributions"]
    head, rest = table.head(top), table.iloc[top:]
    rows = [{"step": f"{r.label} = {r.value}", "contribution": r.contribution} for r in head.itertuples()]
    if len(rest):
        rows.append({"step": f"{len(rest)} other features", "contribution": float(rest["contribution"].sum())})
    data = pd.DataFrame(rows)
    data["end"] = waterfall["base_value"] + data["contribution"].cumsum()
    data["start"] = data["end"] - data["contribution"]
    data["effect"] = ["raises risk" if c > 0 else "lowers risk" for c in data["contribution"]]
    return data


def waterfall_chart(waterfall: dict, top: int = 10) -> alt.Chart:
    data = waterfall_frame(waterfall, top)
    order = data["step"].tolist()
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("step:N", sort=order, title=None),
        x=alt.X("start:Q", title="Log-odds of NOT paying (base value → this account)"), x2="end:Q",
        color=alt.Color("effect:N", scale=alt.Scale(domain=["raises risk", "lowers risk"], range=[RAISES, LOWERS]),
                        legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["step:N", alt.Tooltip("contribution:Q", format="+.3f")])
    marks = pd.DataFrame({"at": [waterfall["base_value"], waterfall["log_odds"]],
                          "what": ["base value", "this account"]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[3, 3], color="grey").encode(x="at:Q", tooltip=["what:N", "at:Q"])
    return (bars + rules).properties(height=max(180, 26 * len(data)))


def fairness_chart(groups: pd.DataFrame, attribute: str) -> alt.Chart:
    data = groups[groups["attribute"] == attribute]
    # Horizontal bars: group names read left to right at any number of groups (vertical bars rotated them).
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("group:N", title=attribute, sort=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("flagged_rate:Q", title="Share flagged high-risk", axis=alt.Axis(format="%")),
        color=alt.condition(alt.datum.small_group, alt.value("#bbbbbb"), alt.value("#7f8c8d")),
        tooltip=["group:N", "accounts:Q", alt.Tooltip("flagged_rate:Q", format=".1%"),
                 alt.Tooltip("mean_risk_score:Q", format=".3f"), "small_group:N"]).properties(
        height=max(120, 26 * len(data)))
