"""Login throttling per client address, and counters shared through Redis."""

from __future__ import annotations

from uuid import uuid4

import httpx

from auth_service.main import create_app
from shared.testing.auth_service import register_and_login
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import unique_email


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", data={"username": email, "password": password})


class TestPerAddress:
    async def test_failures_on_many_accounts_throttle_the_address(
        self, make_settings: MakeSettings
    ) -> None:
        settings = make_settings(login_max_failures_per_address=3)
        async with (
            serve(create_app(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as client,
        ):
            user = await register_and_login(base_url)
            for _ in range(3):
                failed = await _login(client, unique_email("guess"), "wrong password")
                assert failed.status_code == 401

            # Even the right password of another account is refused from this address.
            throttled = await _login(client, user.email, user.password)
            assert throttled.status_code == 429
            assert int(throttled.headers["retry-after"]) > 0


class TestRegistrations:
    async def test_accounts_per_address_are_limited(self, make_settings: MakeSettings) -> None:
        settings = make_settings(registrations_per_address=2)
        async with (
            serve(create_app(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as client,
        ):
            statuses = [
                (
                    await client.post(
                        "/api/v1/auth/register",
                        json={"email": unique_email("spam"), "password": "a sound passphrase"},
                    )
                ).status_code
                for _ in range(3)
            ]
            limited = await client.post(
                "/api/v1/auth/register",
                json={"email": unique_email("spam"), "password": "a sound passphrase"},
            )
        assert statuses == [201, 201, 429]
        assert int(limited.headers["retry-after"]) > 0


class TestRedisCounters:
    async def test_replicas_share_the_count(
        self, make_settings: MakeSettings, redis_url: str
    ) -> None:
        settings = make_settings(
            redis_url=redis_url,
            redis_key_prefix=f"test:auth:{uuid4().hex}:",
            login_max_failures_per_account=2,
        )
        async with serve(create_app(settings)) as first, serve(create_app(settings)) as second:
            user = await register_and_login(first)
            async with (
                httpx.AsyncClient(base_url=first) as a,
                httpx.AsyncClient(base_url=second) as b,
            ):
                assert (await _login(a, user.email, "wrong password")).status_code == 401
                assert (await _login(b, user.email, "wrong password")).status_code == 401

                throttled = await _login(a, user.email, user.password)
                ready = await b.get("/readyz")

            assert throttled.status_code == 429
            assert (
                0 < int(throttled.headers["retry-after"]) <= settings.login_failure_window_seconds
            )
            assert ready.json()["checks"]["redis"] == "ok"
