"""Per-user display preferences saved with the account: today the language of the app's texts.

The table lives in the review database beside ``users`` (same SQLAlchemy ``MetaData`` as
``strategy/tables.py``) and is created by this module on first use, so a database from before it
gains the table without a migration. A preference is a display choice, not a review decision: it is
not written to the audit log and never changes a run.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Engine, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from core.i18n import LANGUAGES
from strategy.tables import metadata

user_preferences = Table(
    "user_preferences", metadata,
    Column("username", String(200), primary_key=True),
    Column("language", String(10), nullable=True),   # "en" | "de"; NULL: follow the browser
    Column("updated_at", String(40), nullable=False),
)

_READY: set[str] = set()


def _engine(store_or_engine: Any) -> Engine:
    return getattr(store_or_engine, "engine", store_or_engine)


def create_once(store_or_engine: Any, table: Table) -> Engine:
    """Create ``table`` if the database lacks it (once per engine, table and process); the engine."""
    engine = _engine(store_or_engine)
    key = f"{id(engine)}:{engine.url}:{table.name}"
    if key not in _READY:
        try:
            table.metadata.create_all(engine, tables=[table])
        except OperationalError:  # another process created it at the same moment
            table.metadata.create_all(engine, tables=[table])
        _READY.add(key)
    return engine


def ensure_table(store_or_engine: Any) -> None:
    """Create the preferences table if the database lacks it (once per engine and process)."""
    create_once(store_or_engine, user_preferences)


def saved_language(store_or_engine: Any, username: str | None) -> str | None:
    """The language ``username`` chose on their Account page, or ``None`` (not chosen: follow the browser)."""
    if not username:
        return None
    engine = _engine(store_or_engine)
    ensure_table(engine)
    with engine.connect() as conn:
        value = conn.execute(select(user_preferences.c.language)
                             .where(user_preferences.c.username == username)).scalar_one_or_none()
    return value if value in LANGUAGES else None


def save_language(store_or_engine: Any, username: str, language: str | None) -> None:
    """Save ``language`` ("en", "de", or ``None`` to follow the browser again) for ``username``."""
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    engine = _engine(store_or_engine)
    ensure_table(engine)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with engine.begin() as conn:
        done = conn.execute(update(user_preferences).where(user_preferences.c.username == username)
                            .values(language=language, updated_at=now)).rowcount
        if not done:
            try:
                conn.execute(insert(user_preferences).values(username=username, language=language,
                                                             updated_at=now))
            except IntegrityError:  # saved by another request meanwhile: the newer choice wins
                conn.execute(update(user_preferences).where(user_preferences.c.username == username)
                             .values(language=language, updated_at=now))


def forget_user(store_or_engine: Any, username: str) -> None:
    """Remove ``username``'s preferences (when the account is removed)."""
    engine = _engine(store_or_engine)
    ensure_table(engine)
    with engine.begin() as conn:
        conn.execute(delete(user_preferences).where(user_preferences.c.username == username))
