"""auth_service test fixtures: a migrated PostgreSQL database and the app on a real port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.config import Settings
from auth_service.main import create_app
from auth_service.schema import upgrade
from shared.auth.tokens import SigningKey
from shared.config import Environment
from shared.db import create_engine
from shared.testing.server import serve
from shared.testing.services import fresh_database

# Low enough that a test reaches it quickly, per account; other tests use fresh emails.
MAX_FAILURES_PER_ACCOUNT = 3

MakeSettings = Callable[..., Settings]


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    async with fresh_database(postgres_server_url, "auth_test") as url:
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def signing_key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys") / "signing_key.pem"


@pytest.fixture(scope="session")
def signing_key(signing_key_path: Path) -> SigningKey:
    return SigningKey.load_or_create(signing_key_path)


@pytest.fixture(scope="session")
def make_settings(
    database_url: str, kafka_bootstrap: str, signing_key: SigningKey, signing_key_path: Path
) -> MakeSettings:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": Environment.TEST,
            "database_url": database_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "signing_key_path": signing_key_path,
            "redis_url": None,
            "login_max_failures_per_account": MAX_FAILURES_PER_ACCOUNT,
            "login_max_failures_per_address": 100_000,
            "registrations_per_address": 100_000,
            **overrides,
        }
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
async def base_url(settings: Settings) -> AsyncIterator[str]:
    async with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client
