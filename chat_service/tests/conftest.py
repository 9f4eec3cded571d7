"""chat_service test fixtures: a migrated PostgreSQL database, the real auth_service,
users with real tokens, and the app served on a real port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from chat_service.config import Settings
from chat_service.main import create_app
from chat_service.schema import upgrade
from shared.auth.tokens import SigningKey
from shared.config import Environment
from shared.testing.auth_service import AuthUser, register_and_login, sign_access_token
from shared.testing.server import serve
from shared.testing.services import fresh_database
from tests.helpers import Api, Person

MakeSettings = Callable[..., Settings]


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    async with fresh_database(postgres_server_url, "chat_test") as url:
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture(scope="session")
def make_settings(database_url: str, auth_service_url: str) -> MakeSettings:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": Environment.TEST,
            "database_url": database_url,
            "auth_url": auth_service_url,
            "redis_url": None,
            "kafka_enabled": False,
            "database_pool_size": 5,
            **overrides,
        }
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
async def chat_url(app: FastAPI, settings: Settings) -> AsyncIterator[str]:
    async with serve(app, ws_max_size=settings.ws_max_frame_bytes) as url:
        yield url


@pytest.fixture(scope="session")
def signing_key(auth_signing_key: SigningKey, auth_service_url: str) -> SigningKey:
    """The test auth_service's own key, for identities its API cannot make."""
    return auth_signing_key


@pytest.fixture(scope="session")
async def api(chat_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=chat_url, timeout=30) as client:
        yield Api(client, chat_url)


@pytest.fixture(scope="session")
async def people(auth_service_url: str) -> dict[str, Person]:
    """Users registered once for the session; each test makes its own chats."""
    names = ["alice", "bob", "carol", "dave", "eve"]
    users: list[AuthUser] = await asyncio.gather(
        *(register_and_login(auth_service_url, display_name=name.title()) for name in names)
    )
    return {
        name: Person(user.id, name.title(), user.access_token)
        for name, user in zip(names, users, strict=True)
    }


def sign(
    key: SigningKey, user_id: UUID, name: str, *, superuser: bool = False, ttl: int = 3600
) -> Person:
    """A token as auth_service makes them (same key, issuer, audience and claims)."""
    token = sign_access_token(key, user_id, name, superuser=superuser, ttl=ttl)
    return Person(user_id, name, token)


@pytest.fixture(scope="session")
def superuser(signing_key: SigningKey) -> Person:
    """auth_service's API cannot make a superuser (only its demo data has one)."""
    return sign(signing_key, uuid4(), "Root", superuser=True)


@pytest.fixture
def alice(people: dict[str, Person]) -> Person:
    return people["alice"]


@pytest.fixture
def bob(people: dict[str, Person]) -> Person:
    return people["bob"]


@pytest.fixture
def carol(people: dict[str, Person]) -> Person:
    return people["carol"]


@pytest.fixture
def dave(people: dict[str, Person]) -> Person:
    return people["dave"]


@pytest.fixture
def eve(people: dict[str, Person]) -> Person:
    return people["eve"]


@pytest.fixture
async def auth_people(auth_service_url: str) -> list[Person]:
    """Two users of this test alone (for counts that other tests' chats would disturb)."""
    users = await asyncio.gather(*(register_and_login(auth_service_url) for _ in range(2)))
    return [Person(u.id, u.display_name, u.access_token) for u in users]
