"""The migrations build exactly the models' schema."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select, text

from notify_ws_service.__main__ import alembic_config
from notify_ws_service.inbox import service
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import Notification
from shared.db import Base, create_engine, create_sessionmaker, session_scope, utcnow
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


async def _backfill(url: str) -> None:
    """Notifications stored before positions get them per user in arrival order, and the
    next one stored continues from there."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
    alice, bob = uuid4(), uuid4()
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for n, user in enumerate((alice, bob, alice, alice, bob)):
                await connection.execute(
                    text(
                        "INSERT INTO notifications (message_id, user_id, type, title, body,"
                        " created_at) VALUES (:m, :u, 'notification', 't', :b, :c)"
                    ),
                    {
                        "m": _uuid_param(url, uuid4()),
                        "u": _uuid_param(url, user),
                        "b": str(n),
                        "c": utcnow(),
                    },
                )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        sessionmaker = create_sessionmaker(engine)
        async with session_scope(sessionmaker) as session:
            stored = await service.store(
                session, [NewNotification(message_id=uuid4(), user_id=bob, title="t", body="5")]
            )
        assert [r.position for r in stored.new] == [3]
        async with sessionmaker() as session:
            rows = await session.scalars(select(Notification).order_by(Notification.id))
            assert [(r.user_id, r.position, r.body) for r in rows] == [
                (alice, 1, "0"),
                (bob, 1, "1"),
                (alice, 2, "2"),
                (alice, 3, "3"),
                (bob, 2, "4"),
                (bob, 3, "5"),
            ]
    finally:
        await engine.dispose()


def _uuid_param(url: str, value: UUID) -> str:
    # SQLAlchemy's Uuid stores 32 hex digits on SQLite, the native type on PostgreSQL.
    return value.hex if url.startswith("sqlite") else str(value)


async def test_positions_are_backfilled_on_postgresql(postgres_server_url: str) -> None:
    async with fresh_database(postgres_server_url, "notify_backfill") as url:
        await _backfill(url)


async def test_positions_are_backfilled_on_sqlite(tmp_path: object) -> None:
    await _backfill(f"sqlite+aiosqlite:///{tmp_path}/notify.db")
