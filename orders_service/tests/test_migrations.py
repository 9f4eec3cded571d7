"""Migrations bring an empty database to head, and head matches the models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from orders_service import models  # noqa: F401  (registers the tables)
from orders_service.__main__ import alembic_config, upgrade
from shared.db import Base, create_engine
from shared.testing.services import fresh_database


def _pending_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_postgresql_upgrades_to_head_with_no_pending_diff(postgres_server_url: str) -> None:
    async with fresh_database(postgres_server_url, "orders_migrations") as url:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                assert await connection.run_sync(_pending_diff) == []
                assert {"orders", "outbox", "alembic_version"} <= await connection.run_sync(_tables)
        finally:
            await engine.dispose()


async def test_sqlite_upgrades_to_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(upgrade, url)  # a second run is a no-op
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_pending_diff) == []
    finally:
        await engine.dispose()


async def test_orders_made_before_the_history_get_their_status_in_it(
    postgres_server_url: str,
) -> None:
    async with fresh_database(postgres_server_url, "orders_backfill") as url:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0001_create_orders")
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO orders (customer, status, version, created_at, updated_at)"
                        " VALUES ('Yulia', 'paid', 2, now() - interval '1 day', now())"
                    )
                )
            await asyncio.to_thread(upgrade, url)
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT order_id, version, status, actor_id FROM order_status_changes")
                )
                assert [tuple(r) for r in rows] == [(1, 2, "paid", None)]
        finally:
            await engine.dispose()
