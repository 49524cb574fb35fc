"""Database tables of the review store (SQLAlchemy Core; SQLite or PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, ForeignKey, Integer, MetaData, String, Table, Text,
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
