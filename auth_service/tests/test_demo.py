"""The demo users of seed 000 (development only)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest

from auth_service.demo import DemoRefused, load_demo_users
from auth_service.main import create_app
from auth_service.schema import upgrade
from shared.auth.tokens import SigningKey
from shared.config import Environment
from shared.demo import ADMIN, DEMO_USERS, TEST_USERS
from shared.testing.server import serve
from shared.testing.services import fresh_database
from tests.conftest import MakeSettings


async def test_loads_the_demo_users_with_their_ids_once(
    postgres_server_url: str, make_settings: MakeSettings
) -> None:
    async with fresh_database(postgres_server_url, "auth_demo") as url:
        await asyncio.to_thread(upgrade, url)
        settings = make_settings(database_url=url)

        assert await load_demo_users(settings) == len(DEMO_USERS)
        assert await load_demo_users(settings) == 0

        async with (
            serve(create_app(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as client,
        ):
            admin = await client.post(
                "/api/v1/auth/login", data={"username": ADMIN.email, "password": ADMIN.password}
            )
            token = admin.json()["access_token"]
            verified = await client.get("/api/v1/auth/verify", params={"token": token})
            found = await client.get(
                "/api/v1/users",
                params={"q": "testuser"},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert verified.json()["user_id"] == str(ADMIN.id)
    assert verified.json()["is_superuser"] is True
    assert {u["id"] for u in found.json()["items"]} == {str(u.id) for u in TEST_USERS}


async def test_refused_in_production(make_settings: MakeSettings) -> None:
    settings = make_settings(
        environment=Environment.PRODUCTION,
        signing_key_pem=SigningKey.generate().private_pem.decode(),
        redis_url="redis://127.0.0.1:6379/0",
    )
    with pytest.raises(DemoRefused):
        await load_demo_users(settings)


def test_the_command_refuses_production() -> None:
    env = {
        "AUTH_ENVIRONMENT": "production",
        "AUTH_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none",
        "AUTH_REDIS_URL": "redis://127.0.0.1:1/0",
        "AUTH_SIGNING_KEY_PEM": SigningKey.generate().private_pem.decode(),
    }
    result = subprocess.run(
        [sys.executable, "-m", "auth_service", "seed-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "production" in result.stderr
