"""Fairness screens: planted disparity flagged, absent disparity not, small groups and proxies shown."""
from __future__ import annotations

import numpy as np
import pandas as pd

from explain.fairness import fairness_report, group_labels
from explain.settings import RiskSettings


def _summary(result, attribute):
    return next(s for s in result.fairness.summary if s["attribute"] == attribute)


def test_a_planted_gender_disparity_is_flagged(planted_risk):
    gender = _summary(planted_risk, "gender")
    assert gender["disparity_warning"] and gender["adverse_impact_warning"]
    assert gender["adverse_impact_ratio"] < 0.8 and gender["lowest_group"] == "m"
    assert gender["difference_p_value"] < 0.05
    assert any(w.startswith("gender:") for w in planted_risk.fairness.warnings)
    assert any("gender" in w for w in planted_risk.run_json_section()["fairness_warnings"])
    groups = planted_risk.fairness.groups.set_index(["attribute", "group"])
    assert groups.loc[("gender", "m"), "flagged_rate"] > groups.loc[("gender", "f"), "flagged_rate"] + 0.08


def test_no_disparity_is_flagged_when_none_was_planted(risk_5k):
    for attribute in ("gender", "age"):
        summary = _summary(risk_5k, attribute)
        assert not summary["disparity_warning"], summary
        assert summary["adverse_impact_ratio"] >= 0.8
        assert summary["demographic_parity_difference"] < 0.1


def test_group_table_has_counts_distribution_and_rates(risk_5k):
    groups = risk_5k.fairness.groups
    assert set(groups["attribute"]) == {"age", "gender"}
    ages = groups[groups["attribute"] == "age"]
    assert ages["group"].tolist() == ["18–29", "30–44", "45–59", "60+"]
    assert ages["accounts"].sum() == risk_5k.n_accounts
    for column in ("mean_risk_score", "median_risk_score", "risk_score_p10", "risk_score_p90", "flagged_rate",
                   "favourable_rate", "small_group"):
        assert column in groups
    flagged_share = (groups[groups["attribute"] == "gender"]["flagged_rate"]
                     * groups[groups["attribute"] == "gender"]["accounts"]).sum() / risk_5k.n_accounts
    assert abs(flagged_share - 0.30) < 0.01  # default cut-off: the riskiest 30 %


def test_small_groups_are_marked_and_left_out_of_the_ratio():
    rng = np.random.default_rng(0)
    n = 1_000
    frame = pd.DataFrame({"gender": np.r_[np.repeat(["f", "m"], 495), ["d"] * 10]})
    risk = rng.random(n)
    risk[-10:] = 0.99  # the tiny group is all flagged ...
    report = fairness_report(frame, ["gender"], risk, (rng.random(n) < risk).astype(int),
                             pd.DataFrame({"x": rng.random(n)}), RiskSettings())
    summary = report.summary[0]
    assert summary["small_groups"] == ["d"]
    assert summary["groups_compared"] == 2  # ... but does not decide the ratio
    assert not summary["adverse_impact_warning"]
    assert report.groups.set_index("group").loc["d", "small_group"]


def test_a_feature_that_reveals_a_sensitive_attribute_is_flagged_as_proxy():
    rng = np.random.default_rng(1)
    n = 2_000
    gender = rng.choice(["f", "m"], n)
    features = pd.DataFrame({"postcode_area": np.where(gender == "m", rng.integers(0, 5, n), rng.integers(4, 9, n)),
                             "noise": rng.normal(size=n)}).astype(float)
    risk = rng.random(n)
    report = fairness_report(pd.DataFrame({"gender": gender}), ["gender"], risk,
                             (rng.random(n) < risk).astype(int), features, RiskSettings())
    proxies = report.proxies.set_index("feature")
    assert proxies.loc["postcode_area", "flagged"] and proxies.loc["postcode_area", "auc"] > 0.85
    assert not proxies.loc["noise", "flagged"]
    assert any("postcode_area" in w for w in report.warnings)


def test_age_is_banded_and_other_numbers_in_quartiles():
    settings = RiskSettings()
    ages = group_labels("age", pd.Series([18, 29, 30, 44, 45, 59, 60, 90, None]), settings)
    assert ages.tolist() == ["18–29", "18–29", "30–44", "30–44", "45–59", "45–59", "60+", "60+", "(missing)"]
    german = group_labels("Alter", pd.Series([25, 70]), settings)
    assert german.tolist() == ["18–29", "60+"]


def _revealing_portfolio(n: int, seed: int = 1):
    """A postcode area that reveals gender, a noise column, random scores and outcomes."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(["f", "m"], n)
    features = pd.DataFrame({"postcode_area": np.where(gender == "m", rng.integers(0, 5, n), rng.integers(4, 9, n)),
                             "noise": rng.normal(size=n)}).astype(float)
    risk = rng.random(n)
    return pd.DataFrame({"gender": gender}), features, risk, (rng.random(n) < risk).astype(int)


def test_the_proxy_check_fits_on_at_most_proxy_max_rows_and_says_so(monkeypatch):
    import explain.fairness as fairness

    fitted_rows = []
    real = fairness.cross_val_predict
    monkeypatch.setattr(fairness, "cross_val_predict",
                        lambda model, X, y, **kw: fitted_rows.append(len(X)) or real(model, X, y, **kw))
    frame, features, risk, event = _revealing_portfolio(3_000)
    report = fairness_report(frame, ["gender"], risk, event, features, RiskSettings(proxy_max_rows=1_000))
    assert fitted_rows == [1_000]
    assert (report.proxies["accounts"] == 1_000).all() and report.proxies["sampled"].all()
    assert report.summary[0]["proxy_accounts"] == 1_000 and report.summary[0]["proxy_sampled"]
    assert report.proxies.set_index("feature").loc["postcode_area", "flagged"]  # still found on the sample
    assert any("on a 1,000-account sample" in w for w in report.warnings)


def test_below_proxy_max_rows_the_proxy_check_uses_every_usable_account():
    frame, features, risk, event = _revealing_portfolio(3_000)
    report = fairness_report(frame, ["gender"], risk, event, features, RiskSettings(proxy_max_rows=5_000))
    assert (report.proxies["accounts"] == 3_000).all() and not report.proxies["sampled"].any()
    assert any("on all 3,000 accounts" in w for w in report.warnings)


def test_the_proxy_sample_keeps_group_shares_and_small_groups():
    from explain.fairness import stratified_sample

    labels = np.repeat(["a", "b", "c"], [9_000, 970, 30])
    picked = stratified_sample(labels, 1_000, seed=3, floor=30)
    assert len(picked) == 1_000 and len(np.unique(picked)) == 1_000
    assert (np.diff(picked) > 0).all()
    counts = pd.Series(labels[picked]).value_counts()
    assert counts["c"] == 30  # the small group keeps its floor
    assert abs(counts["a"] / counts["b"] - 9_000 / 970) < 0.1
    assert (stratified_sample(labels, 1_000, seed=3, floor=30) == picked).all()
