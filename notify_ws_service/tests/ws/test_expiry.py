"""A live socket is closed at its token's expiry (after the grace) unless refreshed.

Needs tokens that expire within the test: a second real auth_service, configured with
the shortest access token life it allows.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.devbroker import free_port
from shared.testing.auth_service import register_and_login
from shared.testing.services import fresh_database
from tests.conftest import SettingsFactory
from tests.support import close_code, connect, serve_gateway

ACCESS_TOKEN_SECONDS = 30


@pytest.fixture(scope="module")
async def short_lived_auth_url(
    postgres_server_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    workdir = tmp_path_factory.mktemp("short_lived_auth")
    port = free_port()
    async with fresh_database(postgres_server_url, "auth_short") as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
        env.update(
            {
                "AUTH_ENVIRONMENT": "test",
                "AUTH_PORT": str(port),
                "AUTH_DATABASE_URL": database_url,
                "AUTH_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "AUTH_SIGNING_KEY_PATH": str(workdir / "key.pem"),
                "AUTH_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_SECONDS),
                "AUTH_LOG_LEVEL": "WARNING",
            }
        )
        log = (workdir / "auth.log").open("ab")
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "auth_service",
            "migrate",
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        assert await migrate.wait() == 0, Path(workdir / "auth.log").read_text()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "auth_service",
            "serve",
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base_url) as client, asyncio.timeout(60):
                while True:
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            yield base_url
        finally:
            process.terminate()
            await process.wait()
            log.close()


async def test_expiry_closes_the_socket_and_a_refresh_keeps_it(
    short_lived_auth_url: str, make_settings: SettingsFactory
) -> None:
    user = await register_and_login(short_lived_auth_url)
    settings = make_settings(auth_url=short_lived_auth_url, expiry_grace=1.0)
    async with (
        serve_gateway(settings, wait_consuming=False) as gateway,
        connect(gateway.ws_url(user.access_token)) as expiring,
        connect(gateway.ws_url(user.access_token)) as refreshing,
    ):
        async with httpx.AsyncClient(base_url=short_lived_auth_url) as client:
            await asyncio.sleep(ACCESS_TOKEN_SECONDS / 2)
            login = await client.post(
                "/api/v1/auth/login", data={"username": user.email, "password": user.password}
            )
        await refreshing.send(
            json.dumps({"type": "refresh", "token": login.json()["access_token"]})
        )
        assert json.loads(await asyncio.wait_for(refreshing.recv(), 10))["type"] == "refreshed"

        code, reason = await close_code(expiring, timeout=ACCESS_TOKEN_SECONDS + 10)
        assert (code, reason) == (4401, "token expired")

        await refreshing.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(refreshing.recv(), 10)) == {"type": "pong"}
