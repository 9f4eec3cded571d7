"""Fixtures of the fault scenarios.

The shared test plugin provides the broker (``kafka_bootstrap``), PostgreSQL, Redis and
an auth_service (``auth_service_url``). Here: an auth_service a scenario may kill and
start again, and what the gateway scenarios share (``gateway_*``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

# The chat_service and orders_service scenarios share one running suite: ``domain``.
from bench.faults.domain_services import domain  # noqa: F401
from bench.faults.gateway_kafka import create_topic
from bench.faults.gateway_processes import (
    GatewayFleet,
    ServiceProcess,
    auth_service,
    running,
)
from shared.kafka import create_producer
from shared.testing.auth_service import AuthUser, register_and_login
from shared.testing.services import fresh_database

# Users registered once for every gateway scenario (argon2 makes each one cost a lot).
GATEWAY_USERS = 20


@pytest.fixture(scope="session")
async def killable_auth_service(
    postgres_server_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    """auth_service in a process of its own that a scenario may SIGKILL and start again:
    it comes back at the same address, with the same database and signing key."""
    workdir = tmp_path_factory.mktemp("killable_auth")
    async with fresh_database(postgres_server_url, "faults_auth") as database_url:
        service = auth_service(
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            signing_key=workdir / "signing_key.pem",
            log=workdir / "auth_service.log",
        )
        await service.migrate()
        async with running(service):
            yield service


@pytest.fixture(scope="session")
async def gateway_database(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """One migrated gateway database; scenarios keep apart by topic and consumer group."""
    log = tmp_path_factory.mktemp("gateway_migrate") / "migrate.log"
    async with fresh_database(postgres_server_url, "faults_notify") as database_url:
        await ServiceProcess("notify_ws_service", {"DATABASE_URL": database_url}, log).migrate()
        yield database_url


@pytest.fixture(scope="session")
async def gateway_users(killable_auth_service: ServiceProcess) -> list[AuthUser]:
    url = killable_auth_service.url
    return list(await asyncio.gather(*(register_and_login(url) for _ in range(GATEWAY_USERS))))


@pytest.fixture(scope="session")
async def gateway_producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """acks=all: an acknowledged record is one the user must get."""
    producer = create_producer(kafka_bootstrap, client_id="faults")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def gateway_fleet(
    gateway_database: str,
    kafka_bootstrap: str,
    redis_url: str,
    killable_auth_service: ServiceProcess,
    tmp_path: Path,
) -> GatewayFleet:
    """A topic (created up front, with its dead-letter twin), consumer group and Redis
    prefix of the scenario's own; instances come from ``gateway_fleet.instance(name)``."""
    unique = uuid4().hex[:10]
    fleet = GatewayFleet(
        database_url=gateway_database,
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis_url,
        auth_url=killable_auth_service.url,
        topic=f"notification.send.{unique}",
        group=f"faults-{unique}",
        redis_prefix=f"faults-{unique}:",
        workdir=tmp_path,
    )
    await create_topic(kafka_bootstrap, fleet.topic)
    return fleet
