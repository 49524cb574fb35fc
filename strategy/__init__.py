"""Persona -> strategy mapping under human oversight (no streamlit here).

Modules: :mod:`~strategy.catalogue` (the Strategy dataclass), :mod:`~strategy.proposals`
(proposals with evidence), :mod:`~strategy.guardrails` (legal and policy rules),
:mod:`~strategy.auth` (users, roles, OIDC mapping), :mod:`~strategy.store` (the review database:
four-eyes workflow, overrides, kill switch), :mod:`~strategy.audit` (hash-chained audit log),
:mod:`~strategy.export` (approved mappings as CSV/XLSX/JSON with provenance) and
:mod:`~strategy.cli` (``users``, ``review``, ``export``, ``audit`` subcommands).
"""
