"""Dialect helpers: INSERT ... ON CONFLICT spelled for PostgreSQL or SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_on_conflict(session: AsyncSession, model: type[Any]) -> Any:
    """An INSERT for ``model`` that has ``on_conflict_do_nothing`` on either dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def locking_supported(session: AsyncSession) -> bool:
    """SQLite has no row locks (its writers are serialised anyway)."""
    return session.get_bind().dialect.name != "sqlite"
