"""Explanations: how good the risk score is, what drives it, per persona and per account, fairness, model card.

The risk score is the probability that an account is NOT paid (higher = riskier). Everything shown is
computed in ``explain/`` during the run; this page only lays it out.
"""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from explain import charts
from explain.reasons import feature_label
from app_pages._state import current_run, require_role, show_error
from core.errors import UserError
from core.text import defang_markdown, escape_markdown

METRIC_LABELS = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC (event = NOT paid)", "brier": "Brier score (lower is better)",
                 "log_loss": "Log loss (lower is better)", "ks": "KS statistic"}

require_role()
st.title("Explanations")

try:
    run = current_run()
except UserError as err:
    show_error(err)
    st.stop()
risk = getattr(run, "risk", None) if run is not None else None
if risk is None:
    st.info("There is no risk model in the current run. Choose the outcome column (for example "
            "`paid_90d`) on the **Portfolio** page, then run on the **Personas** page; or on the command line: "
            "`personas run FILE --out DIR --target paid_90d`. Nothing is guessed: without a named "
            "outcome no risk score is computed.")
    st.stop()

st.caption(f"Risk score = probability that the account is **NOT paid** (outcome "
           f"{escape_markdown(risk.target)}, 1 = {escape_markdown(risk.target_event)}); higher = riskier. Scores are out-of-fold; SHAP values are on the "
           "log-odds of NOT paying (+ raises risk).")
st.warning("The score supports people, it does not decide. Check the reasons and the account before "
           "acting; a precise-looking number invites over-reliance (automation bias).", icon="⚠️")

tab_perf, tab_drivers, tab_personas, tab_account, tab_fair, tab_card = st.tabs(
    ["Performance", "Drivers", "Personas", "Account look-up", "Fairness", "Model card"])

# ---------------------------------------------------------------- performance
with tab_perf:
    metrics = risk.metric_table()
    metrics["metric"] = metrics["metric"].map(METRIC_LABELS)
    level = f"{risk.settings.confidence:.0%}"
    st.dataframe(metrics.rename(columns={"value": "value", "ci_low": f"{level} interval low",
                                         "ci_high": f"{level} interval high"}),
                 hide_index=True, column_config={c: st.column_config.NumberColumn(format="%.3f")
                                                 for c in metrics.columns if c != "metric"})
    cal = risk.calibration
    st.caption(f"{risk.settings.cv_folds}-fold stratified cross-validation on {risk.n_accounts:,} accounts "
               f"(NOT-paid rate {risk.not_paid_rate:.1%}); intervals from {risk.settings.bootstrap_resamples} "
               f"bootstrap resamples. Calibration: {cal['reason']}.")
    left, right = st.columns(2)
    left.altair_chart(charts.roc_chart(risk.roc_curve()), width="stretch")
    right.altair_chart(charts.pr_chart(risk.pr_curve(), risk.not_paid_rate), width="stretch")
    left.altair_chart(charts.calibration_chart(risk.calibration_curve(),
                                               risk.curves.get("reliability_uncalibrated") if cal["calibrated"] else None),
                      width="stretch")
    right.altair_chart(charts.gains_chart(risk.gains()), width="stretch")
    with st.expander("Lift and gains by decile (decile 1 = riskiest 10 %)"):
        st.dataframe(risk.gains(), hide_index=True)

# ---------------------------------------------------------------- drivers (global SHAP)
with tab_drivers:
    shap_meta = risk.shap.meta()
    st.caption(f"SHAP values for {shap_meta['accounts_explained']:,} of {shap_meta['accounts_total']:,} accounts"
               + (f" (seeded sample, seed {shap_meta['sample_seed']})" if shap_meta["sampled"] else "")
               + f"; base value {shap_meta['base_value']:.3f} log-odds.")
    importance = risk.global_importance()
    st.altair_chart(charts.importance_chart(importance), width="stretch")
    st.altair_chart(charts.beeswarm_chart(risk.beeswarm()), width="stretch")
    labels = {feature_label(f, risk.settings.language): f for f in importance["feature"]}
    chosen = st.selectbox("Dependence plot for", list(labels), key="explain_dependence_feature")
    feature = labels[chosen]
    st.altair_chart(charts.dependence_chart(risk.dependence(feature), chosen,
                                            feature in risk.categorical_features), width="stretch")

# ---------------------------------------------------------------- personas
with tab_personas:
    table = risk.persona_explanation()
    if table is None or table.empty:
        st.info("This run has no personas to explain.")
    else:
        names = {int(p["persona_id"]): p.get("name", f"Persona {p['persona_id']}")
                 for p in (getattr(run, "profiles", None) or [])}
        overview = pd.DataFrame({"persona_id": list(risk.persona_risk),
                                 "mean risk score (P NOT paid)": list(risk.persona_risk.values())})
        overview.insert(1, "persona", overview["persona_id"].map(lambda i: names.get(i, f"Persona {i}")))
        st.dataframe(overview, hide_index=True)
        ids = sorted(table["persona_id"].unique().tolist())
        persona_id = st.selectbox("Persona", ids, format_func=lambda i: names.get(i, f"Persona {i}"),
                                  key="explain_persona")
        one = table[table["persona_id"] == persona_id]
        st.caption("Mean SHAP value of each feature in this persona minus the portfolio mean: red features "
                   "make the persona riskier than average, blue ones safer.")
        st.altair_chart(charts.persona_chart(one), width="stretch")

# ---------------------------------------------------------------- one account
with tab_account:
    account_id = st.text_input("Account id", key="explain_account_id",
                               placeholder=str(risk.scores["account_id"].iloc[0])).strip()
    if account_id:
        known = risk.scores["account_id"] == account_id
        if not known.any():
            st.warning(f"No account {escape_markdown(repr(account_id))} in this run. Check the id "
                       f"(e.g. {escape_markdown(risk.scores['account_id'].iloc[0])}).")
        elif not risk.has_account(account_id):
            row = risk.scores[known].iloc[0]
            st.metric("Risk score (P NOT paid)", f"{row['risk_score']:.1%}")
            st.info("This account is outside the SHAP sample of this run, so it has no waterfall.")
        else:
            data = risk.waterfall(account_id)
            first, second, third = st.columns(3)
            first.metric("Risk score (P NOT paid, out-of-fold)", f"{data['risk_score']:.1%}")
            second.metric("Model probability (explained)", f"{data['probability']:.1%}")
            third.metric("Portfolio base rate (model)", f"{data['base_probability']:.1%}")
            st.markdown("**Main reasons:** " + (defang_markdown(data["reasons"]) or "–"))
            st.altair_chart(charts.waterfall_chart(data), width="stretch")
            export = {"account_id": account_id, "risk_score": data["risk_score"],
                      "score_direction": "probability of NOT paying", "reasons": data["reasons"],
                      "shap_scale": "log-odds of NOT paying", "base_value": data["base_value"],
                      "contributions": data["contributions"][["label", "value", "contribution"]].to_dict("records")}
            st.download_button("Download this explanation (JSON)", json.dumps(export, indent=2, ensure_ascii=False),
                               file_name=f"explanation_{account_id}.json", mime="application/json")

# ---------------------------------------------------------------- fairness
with tab_fair:
    fairness = risk.fairness
    st.caption(f"Flagged high-risk = {fairness.cutoff_rule}. Adverse impact ratio = lowest favourable (not "
               "flagged) rate / highest; below 0.8 is a warning for review, not a verdict. Sensitive "
               "attributes are never model inputs; they are used only here.")
    for warning in fairness.warnings:
        st.warning(warning)
    if not fairness.summary:
        st.info("No sensitive attribute (e.g. age, gender) was present, so no group analysis was possible.")
    else:
        summary = pd.DataFrame(fairness.summary).drop(columns=["warnings"], errors="ignore")
        st.dataframe(summary, hide_index=True)
        for attribute in [s["attribute"] for s in fairness.summary]:
            st.subheader(attribute)
            st.altair_chart(charts.fairness_chart(fairness.groups, attribute), width="stretch")
            st.dataframe(fairness.groups[fairness.groups["attribute"] == attribute], hide_index=True)
        st.subheader("Proxy check")
        st.caption("Cross-validated AUC with which the model's features predict each sensitive attribute "
                   f"(0.5 = not at all; flagged at {risk.settings.proxy_auc_threshold}).")
        st.dataframe(fairness.proxies, hide_index=True)

# ---------------------------------------------------------------- model card
with tab_card:
    card = risk.model_card()
    st.download_button("Download model card (Markdown)", card, file_name="model_card.md", mime="text/markdown")
    st.markdown(defang_markdown(card))  # fields come from files and people: no images, no links
