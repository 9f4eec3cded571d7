"""Engine and sessions of the chat database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from chat_service.config import Settings
from shared.db import create_engine


def make_engine(settings: Settings) -> AsyncEngine:
    return create_engine(settings.database_url, pool_size=settings.database_pool_size)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored moment is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
