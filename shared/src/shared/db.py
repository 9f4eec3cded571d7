"""Database plumbing: the declarative base, engines for PostgreSQL and SQLite, sessions.

One transaction per request, committed at the boundary (:func:`session_scope`);
services flush, never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every service's models (each service has its own database)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The largest seq, offset or cursor a request may name: the largest integer every JSON
# client holds exactly (JavaScript's Number.MAX_SAFE_INTEGER), well inside a BIGINT. A
# larger one is refused as invalid input: past a BIGINT, the database driver could not
# even encode it.
MAX_SAFE_INTEGER = 2**53 - 1

# Text with no NUL: PostgreSQL cannot hold one, so a value with it is refused as invalid
# input (a pattern, for query parameters and constrained strings), not a failed query.
NO_NUL = r"^[^\x00]*$"


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # The connection returned last goes out first: under a light load one warm
        # connection serves. Taken in turn, each would pay its server process's first use
        # of a statement (its catalog caches, its prepared statement): 15 to 30 ms for the
        # gateway's inbox statement, against 2 to 3 ms warm.
        pool_use_lifo=True,
    )
    event.listen(engine.sync_engine, "checkout", _drop_if_closed)
    return engine


def _drop_if_closed(_: Any, record: Any, __: Any) -> None:
    """A pooled connection the server closed (backend terminated, server restarted) is
    replaced at checkout. The driver learns of the close as it happens, so this costs
    no round trip, unlike a ping before every checkout."""
    is_closed = getattr(record.driver_connection, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; searches "in any case" need every script.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
