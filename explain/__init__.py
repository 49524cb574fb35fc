"""Risk model, metrics, SHAP explanations, plain-language reasons, fairness audit and model card.

A plain library (no streamlit). The entry point is :func:`explain.risk.fit_risk_model`, which returns a
:class:`explain.risk.RiskResult`. The risk score is always the probability that an account is NOT paid
within the outcome window (0..1, higher = riskier); SHAP values are on the log-odds of NOT paying.

Modules: ``settings`` (RiskSettings), ``features`` (which columns, the outcome, encoding), ``model``
(cross-validation, calibration, refit), ``metrics`` (bootstrap intervals, curves, gains), ``shapley``
(SHAP table and its views), ``reasons`` (labels and sentences, en/de), ``fairness`` (group screens,
proxy check), ``model_card`` (Mitchell et al. sections), ``charts`` (altair figures), ``model_io``
(the model saved without pickle: JSON + skops), ``risk`` (the pipeline step and its result).
"""
