from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from orders_service.__main__ import upgrade
from orders_service.config import Settings
from shared.devbroker import free_port
from shared.testing.services import fresh_database
from tests.support import serve_orders

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """One migrated database for the session; emptied before every test."""
    async with fresh_database(postgres_server_url, "orders") as url:
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture(autouse=True)
async def empty_tables(database_url: str) -> None:
    """Every test starts from order id 1, as the seed's examples do."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("TRUNCATE orders, outbox RESTART IDENTITY")
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def session_topic() -> str:
    return f"orders.events.test-{uuid4().hex[:10]}"


@pytest.fixture
def make_settings(
    database_url: str, kafka_bootstrap: str, session_topic: str, request: pytest.FixtureRequest
) -> SettingsFactory:
    unique = uuid4().hex[:10]

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": database_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "events_topic": session_topic,
            "redis_url": None,
            "redis_channel": f"orders-test-{unique}",
            "relay_poll_interval": 0.2,
            "log_level": "WARNING",
            # Nothing listens there: a token is refused unless a test brings auth_service.
            "auth_url": f"http://127.0.0.1:{free_port()}",
        }
        if "auth_service_url" in request.fixturenames:
            values["auth_url"] = request.getfixturevalue("auth_service_url")
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def orders_url(make_settings: SettingsFactory) -> AsyncIterator[str]:
    """The service, served on a free port with default test settings."""
    async with serve_orders(make_settings()) as base_url:
        yield base_url
