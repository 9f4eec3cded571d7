"""The pool: connections the server closed are replaced before use; the warmest goes out first."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from shared.db import create_engine, create_sessionmaker, session_scope
from shared.testing.services import terminate_backends


class TestTerminatedConnections:
    async def test_the_next_unit_of_work_after_the_server_killed_the_pool_succeeds(
        self, database_url: str
    ) -> None:
        engine = create_engine(database_url, pool_size=3)
        sessionmaker = create_sessionmaker(engine)
        try:
            # Three connections in the pool, all idle.
            async with (
                session_scope(sessionmaker) as a,
                session_scope(sessionmaker) as b,
                session_scope(sessionmaker) as c,
            ):
                for session in (a, b, c):
                    await session.execute(text("SELECT 1"))
            assert await terminate_backends(database_url) >= 3
            await asyncio.sleep(0.2)  # the driver reads the server's goodbye
            for _ in range(5):
                async with session_scope(sessionmaker) as session:
                    assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
        finally:
            await engine.dispose()


class TestWarmConnectionFirst:
    async def test_one_unit_of_work_after_another_gets_the_same_connection(
        self, database_url: str
    ) -> None:
        engine = create_engine(database_url, pool_size=3)
        sessionmaker = create_sessionmaker(engine)
        pid = text("SELECT pg_backend_pid()")
        try:
            async with (
                session_scope(sessionmaker) as a,
                session_scope(sessionmaker) as b,
                session_scope(sessionmaker) as c,
            ):
                opened = {(await s.execute(pid)).scalar_one() for s in (a, b, c)}
            assert len(opened) == 3
            used = set()
            for _ in range(6):
                async with session_scope(sessionmaker) as session:
                    used.add((await session.execute(pid)).scalar_one())
            assert len(used) == 1
        finally:
            await engine.dispose()
