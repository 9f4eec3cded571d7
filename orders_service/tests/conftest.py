from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from orders_service.__main__ import upgrade
from orders_service.config import Settings
from shared.devbroker import free_port
from shared.testing.services import fresh_database
from tests.support import plain_dsn, serve_orders

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """The database of the apps a test serves itself (``make_settings``)."""
    async with fresh_database(postgres_server_url, "orders") as url:
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture(scope="session")
async def session_app_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """The database of the session-wide app (``orders_url``): its own, so that app's
    relay never publishes the outbox rows another test is looking at."""
    async with fresh_database(postgres_server_url, "orders_shared") as url:
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture(autouse=True)
async def empty_tables(database_url: str, session_app_database_url: str) -> None:
    """Every test starts from order id 1, as the seed's examples do."""
    for url in (database_url, session_app_database_url):
        connection = await asyncpg.connect(plain_dsn(url))
        try:
            await connection.execute(
                "TRUNCATE orders, order_status_changes, outbox RESTART IDENTITY"
            )
        finally:
            await connection.close()


@pytest.fixture(scope="session")
def session_topic() -> str:
    return f"orders.events.test-{uuid4().hex[:10]}"


def _test_values(database_url: str, kafka_bootstrap: str, topic: str) -> dict[str, Any]:
    return {
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "events_topic": topic,
        "redis_url": None,
        "redis_channel": f"orders-test-{uuid4().hex[:10]}",
        "relay_poll_interval": 0.2,
        "log_level": "WARNING",
        # Nothing listens there: a token is refused unless a test brings auth_service.
        "auth_url": f"http://127.0.0.1:{free_port()}",
    }


@pytest.fixture
def make_settings(
    database_url: str, kafka_bootstrap: str, session_topic: str, request: pytest.FixtureRequest
) -> SettingsFactory:
    """Settings for a test that serves the app its own way."""

    def make(**overrides: Any) -> Settings:
        values = _test_values(database_url, kafka_bootstrap, session_topic)
        if "auth_service_url" in request.fixturenames:
            values["auth_url"] = request.getfixturevalue("auth_service_url")
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
async def orders_url(
    session_app_database_url: str, kafka_bootstrap: str, session_topic: str
) -> AsyncIterator[str]:
    """The service with default test settings, served once for the session (each test
    still starts from empty tables)."""
    settings = Settings(**_test_values(session_app_database_url, kafka_bootstrap, session_topic))
    async with serve_orders(settings) as base_url:
        yield base_url
