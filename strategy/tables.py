"""Database tables of the review store (SQLAlchemy Core; SQLite or PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", Text, nullable=True),  # NULL for identities from OIDC
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    # The real person behind the identity (employee id or e-mail); two identities of one person
    # never review each other's work (four-eyes), and conflicting review roles are flagged.
    Column("person", String(200), nullable=True),
)

# Signed-in sessions: the browser holds the token in an HttpOnly cookie, the database its SHA-256.
sessions = Table(
    "sessions", metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("username", String(200), nullable=False),
    Column("role", String(20), nullable=False),       # the role at sign-in; a change ends the session
    Column("source", String(20), nullable=False),     # password | oidc
    Column("created_at", String(40), nullable=False),
    Column("last_seen_at", String(40), nullable=False),
    Column("ended_at", String(40), nullable=True),
    Column("ended_why", String(200), nullable=True),
)

# One-time tickets: the first-start setup token and the sign-in hand-over to the cookie route.
tickets = Table(
    "tickets", metadata,
    Column("ticket_sha256", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),        # setup | handoff
    Column("username", String(200), nullable=True),
    Column("role", String(20), nullable=True),
    Column("source", String(20), nullable=True),
    Column("binding_sha256", String(64), nullable=True),  # the browser it was issued to
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("used_at", String(40), nullable=True),
)

# Failed sign-ins, for lockout: the keyed hash of the typed name, never the text.
sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name_key", String(64), nullable=False, index=True),
    Column("address", String(100), nullable=True, index=True),
    Column("time", String(40), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("run_id", String(200), primary_key=True),
    Column("data_sha256", String(64), nullable=True),
    Column("personas_sha256", String(64), nullable=False),
    Column("registered_by", String(200), nullable=False),
    Column("registered_at", String(40), nullable=False),
    Column("model_signed_off_by", String(200), nullable=True),
    Column("model_signed_off_at", String(40), nullable=True),
)

strategy_versions = Table(
    "strategy_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(200), ForeignKey("runs.run_id"), nullable=False),
    Column("persona_id", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", Text, nullable=False),          # canonical JSON of Strategy.to_dict()
    Column("evidence", Text, nullable=False, default="[]"),
    # The evidence's language-neutral form (``strategy.texts``: one {"code", "params"} or null per
    # line), so a German reader reads it in German; NULL for versions stored before it existed.
    Column("evidence_codes", Text, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
)

mappings = Table(
    "mappings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(200), ForeignKey("runs.run_id"), nullable=False),
    Column("persona_id", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("strategy_version_id", Integer, ForeignKey("strategy_versions.id"), nullable=False),
    Column("proposed_by", String(200), nullable=True),
    Column("last_edited_by", String(200), nullable=True),
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", String(40), nullable=True),
    Column("approval_hash", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", String(40), nullable=False),
    # The reason's language-neutral form when the app wrote it (carry-over: ``strategy.texts``);
    # NULL for a reason a person typed and for rows from before it existed.
    Column("reason_text", Text, nullable=True),
    UniqueConstraint("run_id", "persona_id", name="uq_mapping_run_persona"),
)

account_overrides = Table(
    "account_overrides", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(200), ForeignKey("runs.run_id"), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("persona_id", Integer, nullable=True),
    Column("strategy_version_id", Integer, ForeignKey("strategy_versions.id"), nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    # Four-eyes: an override counts only once a second person approved it. Rows from before this
    # column existed read NULL: pending, like every new override.
    Column("status", String(20), nullable=True),      # pending | approved | declined
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", String(40), nullable=True),
    Column("decision_reason", Text, nullable=True),
)

# Compliance vetoes of a persona's mapping: one stands (blocks approval of any version of that
# persona's mapping in the run) until a compliance reviewer lifts it.
vetoes = Table(
    "vetoes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(200), ForeignKey("runs.run_id"), nullable=False),
    Column("persona_id", Integer, nullable=False),
    Column("strategy_sha256", String(64), nullable=True),   # the content vetoed
    Column("reason", Text, nullable=False),
    Column("vetoed_by", String(200), nullable=False),
    Column("vetoed_at", String(40), nullable=False),
    Column("lifted_by", String(200), nullable=True),
    Column("lifted_at", String(40), nullable=True),
    Column("lift_reason", Text, nullable=True),
    # What is vetoed: NULL or "mapping" (the persona's strategy, every version) or "challenger"
    # (every challenger experiment of the persona in the run; the champion is not affected).
    Column("scope", String(20), nullable=True),
)

# Champion/challenger experiments (:mod:`strategy.experiments`): one per run and persona, under
# the same four-eyes review as the mappings. ``experiment_id`` seeds the arm assignment
# (:mod:`strategy.arms`) and is kept when an approval is carried to next month's run.
experiments = Table(
    "experiments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(200), ForeignKey("runs.run_id"), nullable=False),
    Column("persona_id", Integer, nullable=False),
    Column("experiment_id", String(64), nullable=False),
    Column("state", String(20), nullable=False),        # proposed | approved | rejected | ended
    Column("challenger_share", Float, nullable=False),
    Column("holdout_share", Float, nullable=False),
    Column("planned_days", Integer, nullable=False),
    Column("min_detectable_effect", Float, nullable=True),
    Column("champion_version_id", Integer, ForeignKey("strategy_versions.id"), nullable=True),
    Column("challenger_version_id", Integer, ForeignKey("strategy_versions.id"), nullable=False),
    Column("challenger_hash", String(64), nullable=False),
    Column("proposed_by", String(200), nullable=True),
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", String(40), nullable=True),
    Column("approval_hash", String(64), nullable=True),
    Column("min_sample_per_arm", Integer, nullable=True),
    Column("base_pay_rate", Float, nullable=True),
    Column("base_pay_rate_source", Text, nullable=True),
    Column("started_run_id", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("run_id", "persona_id", name="uq_experiment_run_persona"),
)

# A person looked at one account the plan marks needs_review and let it go out with the strategy
# of its persona as it stood then (``strategy_sha256``); a changed strategy needs a new look.
account_clearances = Table(
    "account_clearances", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(200), ForeignKey("runs.run_id"), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("persona_id", Integer, nullable=True),
    Column("strategy_sha256", String(64), nullable=True),
    Column("reason", Text, nullable=False),
    Column("cleared_by", String(200), nullable=False),
    Column("cleared_at", String(40), nullable=False),
)

settings = Table(
    "settings", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("time", String(40), nullable=False),
    Column("user", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("action", String(40), nullable=False),
    Column("run_id", String(200), nullable=True),
    Column("persona_id", Integer, nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)
