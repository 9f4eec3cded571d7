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


@pytest.fixture
def make_settings(
    database_url: str, kafka_bootstrap: str, request: pytest.FixtureRequest
) -> SettingsFactory:
    """Settings with a topic and a consumer group of this test's own."""
    unique = uuid4().hex[:10]

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": database_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "notification_topic": f"notification.send.{unique}",
            "consumer_group": f"notify-{unique}",
            "consume_domain_events": False,
            "redis_url": None,
            "redis_prefix": f"test-{unique}:",
        }
        if "auth_service_url" in request.fixturenames:
            values["auth_url"] = request.getfixturevalue("auth_service_url")
        values.update(overrides)
        return Settings(**values)

    return make
