"""pytest fixtures every service's tests share (loaded through the pytest11 entry point)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.testing.auth_service import (
    auth_service_url,
    auth_signing_key,
    auth_signing_key_path,
)
from shared.testing.services import kafka_broker, postgres_server, redis_server

__all__ = [
    "auth_service_url",
    "auth_signing_key",
    "auth_signing_key_path",
    "kafka_bootstrap",
    "postgres_server_url",
    "redis_url",
]


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server URL (asyncpg driver); tests create their own databases on it."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A Kafka-compatible broker for the whole session; tests use their own topics/groups."""
    with kafka_broker() as bootstrap:
        yield bootstrap
