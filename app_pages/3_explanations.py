"""Explanations: how good the risk score is, what drives it, per persona and per account, fairness, model card.

The risk score is the probability that an account is NOT paid (higher = riskier). Everything shown is
computed in ``explain/`` during the run, and put in the reader's language by
``application/explanations_page.py``; this page only lays it out.
"""
from __future__ import annotations

import streamlit as st

from application.explanations_page import (METRIC_NUMBER_COLUMNS, account_words, attribute_groups, card_file_name,
                                           card_for_reader, column_label, explanation_json, fairness_caption,
                                           fairness_summary, interval_labels, metric_table, number_kinds,
                                           performance_caption, persona_name, persona_names, persona_overview,
                                           proxy_caption, relabelled, shap_caption, with_group_labels)
from explain import charts
from explain.fairness import warning_texts
from explain.model_card import event_word
from explain.reasons import feature_label
from app_pages._numbers import number_columns
from app_pages._state import current_run, page_language, portfolio_of, require_role, show_error
from core.charts import fit_width
from core.errors import UserError
from core.formats import format_percent
from core.i18n import _
from core.text import defang_markdown, escape_markdown


def table_args(frame) -> dict:
    """``st.dataframe`` arguments for ``frame``: labels and number formats (shares as percentages, ratios
    with 3 decimals; in German written as text, see app_pages/_numbers.py)."""
    kinds = number_kinds(frame.columns)
    shown, numbers = number_columns(frame, kinds, language,
                                    labels={key: column_label(str(key), language) for key in kinds})
    return {"data": shown,
            "column_config": {key: numbers.get(key, column_label(str(key), language)) for key in frame.columns}}


def chart(spec) -> None:
    """A chart with the reader's number formats on its axes (German: "0,25", "12 %")."""
    shown = charts.localised(spec, language)
    st.altair_chart(fit_width(shown), width="stretch")


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
    metrics, config = number_columns(metric_table(risk), METRIC_NUMBER_COLUMNS, language,
                                     interval_labels(risk.settings.confidence, language))
    st.dataframe(metrics, hide_index=True,
                 column_config={c: config.get(c, column_label(c, language)) for c in metrics.columns})
    st.caption(performance_caption(risk, language))
    left, right = st.columns(2)
    with left:
        chart(charts.roc_chart(risk.roc_curve()))
    with right:
        chart(charts.pr_chart(risk.pr_curve(), risk.not_paid_rate))
    with left:
        chart(charts.calibration_chart(risk.calibration_curve(), risk.curves.get("reliability_uncalibrated")
                                       if risk.calibration["calibrated"] else None))
    with right:
        chart(charts.gains_chart(risk.gains()))
    with st.expander(_("Lift and gains by decile (decile 1 = riskiest 10 %)")):
        st.dataframe(**table_args(risk.gains()), hide_index=True)

# ---------------------------------------------------------------- drivers (global SHAP)
with tab_drivers:
    st.caption(shap_caption(risk.shap.meta(), language))
    importance = relabelled(risk.global_importance(), language)
    chart(charts.importance_chart(importance))
    chart(charts.beeswarm_chart(relabelled(risk.beeswarm(), language)))
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
        names = persona_names(getattr(run, "profiles", None))
        st.dataframe(**table_args(persona_overview(risk.persona_risk, names)), hide_index=True)
        ids = sorted(table["persona_id"].unique().tolist())
        persona_id = st.selectbox(_("Persona"), ids, format_func=lambda i: persona_name(names, i),
                                  key="explain_persona")
        one = table[table["persona_id"] == persona_id]
        st.caption(_("Mean SHAP value of each feature in this persona minus the portfolio mean: red features "
                     "make the persona riskier than average, blue ones safer."))
        chart(charts.persona_chart(relabelled(one, language)))

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
            contributions, reasons = account_words(risk, account_id, data, language)
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
            st.download_button(_("Download this explanation (JSON)"), explanation_json(account_id, data),
                               file_name=f"explanation_{account_id}.json", mime="application/json")

# ---------------------------------------------------------------- fairness
with tab_fair:
    fairness = risk.fairness
    st.caption(fairness_caption(risk))
    for warning in warning_texts(fairness, risk.settings):
        st.warning(warning)
    if not fairness.summary:
        st.info(_("No sensitive attribute (e.g. age, gender) was present, so no group analysis was possible."))
    else:
        st.dataframe(**table_args(fairness_summary(fairness.summary)), hide_index=True)
        for attribute in [s["attribute"] for s in fairness.summary]:
            st.subheader(attribute)
            chart(charts.fairness_chart(fairness.groups, attribute))
            st.dataframe(**table_args(attribute_groups(fairness.groups, attribute)), hide_index=True)
        st.subheader(_("Proxy check"))
        st.caption(proxy_caption(risk.settings.proxy_auc_threshold, language))
        st.dataframe(**table_args(with_group_labels(fairness.proxies)), hide_index=True)

# ---------------------------------------------------------------- model card
with tab_card:
    card, stored = card_for_reader(run, language, portfolio=lambda: portfolio_of(run))
    st.download_button(_("Download model card (Markdown)"), card, file_name=card_file_name(card, stored, language),
                       mime="text/markdown")
    if card is not stored:
        st.caption(_("The card is written in the language of this page from the run's figures; the run keeps the "
                     "card it was made with."))
        st.download_button(_("Download the card stored with the run (Markdown)"), stored, file_name="model_card.md",
                           mime="text/markdown", key="explain_stored_card")
    st.markdown(defang_markdown(card))  # fields come from files and people: no images, no links
