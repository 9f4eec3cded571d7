"""The pool: connections the server closed are replaced before use; the warmest goes out first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine, create_sessionmaker, session_scope
from shared.testing.services import terminate_backends

BACKEND = text("SELECT pg_backend_pid()")


@asynccontextmanager
async def three_pooled(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A pool holding three idle connections."""
    engine = create_engine(database_url, pool_size=3)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with (
            session_scope(sessionmaker) as a,
            session_scope(sessionmaker) as b,
            session_scope(sessionmaker) as c,
        ):
            opened = {(await session.execute(BACKEND)).scalar_one() for session in (a, b, c)}
        assert len(opened) == 3
        yield sessionmaker
    finally:
        await engine.dispose()


class TestTerminatedConnections:
    async def test_the_next_unit_of_work_after_the_server_killed_the_pool_succeeds(
        self, database_url: str
    ) -> None:
        async with three_pooled(database_url) as sessionmaker:
            assert await terminate_backends(database_url) >= 3
            await asyncio.sleep(0.2)  # the driver reads the server's goodbye
            for _ in range(5):
                async with session_scope(sessionmaker) as session:
                    assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


class TestWarmConnectionFirst:
    async def test_one_unit_of_work_after_another_gets_the_same_connection(
        self, database_url: str
    ) -> None:
        async with three_pooled(database_url) as sessionmaker:
            used = set()
            for _ in range(6):
                async with session_scope(sessionmaker) as session:
                    used.add((await session.execute(BACKEND)).scalar_one())
            assert len(used) == 1
