from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from alembic import command

from notify_ws_service.__main__ import alembic_config
from notify_ws_service.config import Settings
from shared.testing.services import fresh_database
from tests.support import Served, serve_gateway

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """One migrated database for the session; tests keep apart by fresh user ids."""
    async with fresh_database(postgres_server_url, "notify") as url:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        yield url


@pytest.fixture(scope="session")
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


def gateway_settings(database_url: str, kafka_bootstrap: str, **overrides: Any) -> Settings:
    """Settings with a topic, consumer group and Redis prefix of their own."""
    unique = uuid4().hex[:10]
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "notification_topic": f"notification.send.{unique}",
        "consumer_group": f"notify-{unique}",
        "consume_domain_events": False,
        "redis_url": None,
        "redis_prefix": f"test-{unique}:",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def make_settings(
    database_url: str, kafka_bootstrap: str, request: pytest.FixtureRequest
) -> SettingsFactory:
    """One test's settings; every call within the test shares its topic and group."""
    unique: dict[str, Any] = {}
    base = gateway_settings(database_url, kafka_bootstrap)
    for name in ("notification_topic", "consumer_group", "redis_prefix"):
        unique[name] = getattr(base, name)
    if "auth_service_url" in request.fixturenames:
        unique["auth_url"] = request.getfixturevalue("auth_service_url")

    def make(**overrides: Any) -> Settings:
        return gateway_settings(database_url, kafka_bootstrap, **{**unique, **overrides})

    return make


@pytest.fixture(scope="session")
async def gateway(
    database_url: str, kafka_bootstrap: str, auth_service_url: str
) -> AsyncIterator[Served]:
    """One gateway for the tests that need nothing special (each uses its own users);
    a consumer group join costs seconds, so it is paid once."""
    settings = gateway_settings(database_url, kafka_bootstrap, auth_url=auth_service_url)
    async with serve_gateway(settings) as served:
        yield served
