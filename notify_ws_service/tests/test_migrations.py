"""The migrations build exactly the models' schema."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from notify_ws_service import models  # noqa: F401  (registers the tables)
from notify_ws_service.__main__ import alembic_config
from shared.db import Base, create_engine
from shared.testing.services import fresh_database


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_an_empty_database_upgrades_to_head_with_no_pending_diff(
    postgres_server_url: str,
) -> None:
    async with fresh_database(postgres_server_url, "notify_migrations") as url:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                assert await connection.run_sync(_diff) == []
        finally:
            await engine.dispose()


async def test_sqlite_upgrades_too(tmp_path: object) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/notify.db"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()
