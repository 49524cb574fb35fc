"""Persona -> strategy mapping under human oversight (no streamlit here).

Modules: :mod:`~strategy.catalogue` (the Strategy dataclass), :mod:`~strategy.proposals`
(proposals with evidence), :mod:`~strategy.guardrails` (legal and policy rules),
:mod:`~strategy.auth` (roles, permissions, hashing), :mod:`~strategy.users` (user administration),
:mod:`~strategy.signin` (lockout, sessions), :mod:`~strategy.passwords` (the password policy),
:mod:`~strategy.store` (the review database: four-eyes workflow, overrides, kill switch),
:mod:`~strategy.audit` (hash-chained audit log), :mod:`~strategy.anchor` (its head outside the
database), :mod:`~strategy.reconcile` (tables against the log),
:mod:`~strategy.export` (approved mappings as CSV/XLSX/JSON with provenance) and
:mod:`~strategy.cli` (``users``, ``review``, ``export``, ``audit`` subcommands).
"""
