"""Every chart builds a valid Vega-Lite spec from a real run, within altair's inline-data limit."""
from __future__ import annotations

from explain import charts


def test_every_chart_builds_from_a_run(risk_5k):
    account = risk_5k.scores["account_id"].iloc[0]
    built = [
        charts.roc_chart(risk_5k.roc_curve()), charts.pr_chart(risk_5k.pr_curve(), risk_5k.not_paid_rate),
        charts.calibration_chart(risk_5k.calibration_curve(), risk_5k.curves["reliability_uncalibrated"]),
        charts.gains_chart(risk_5k.gains()), charts.importance_chart(risk_5k.global_importance()),
        charts.beeswarm_chart(risk_5k.beeswarm()),
        charts.dependence_chart(risk_5k.dependence("days_past_due"), "Days past due", False),
        charts.dependence_chart(risk_5k.dependence("region"), "Region", True),
        charts.persona_chart(risk_5k.persona_explanation().query("persona_id == 0")),
        charts.waterfall_chart(risk_5k.waterfall(account)),
        charts.fairness_chart(risk_5k.fairness.groups, "age"),
    ]
    for chart in built:
        assert chart.to_dict()  # raises on an invalid spec or more than 5,000 inline rows


def test_waterfall_bars_run_from_base_value_to_the_account_log_odds(risk_5k):
    data = risk_5k.waterfall(risk_5k.scores["account_id"].iloc[5])
    bars = charts.waterfall_frame(data, top=5)
    assert len(bars) == 6 and bars["step"].iloc[-1].endswith("other features")
    assert abs(bars["start"].iloc[0] - data["base_value"]) < 1e-12
    assert abs(bars["end"].iloc[-1] - data["log_odds"]) < 1e-9
