"""Login throttling per account and address, per account, per address, and counters
shared through Redis."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx

from auth_service.main import create_app
from auth_service.throttle import LoginThrottle
from shared.counters import MemoryCounters
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


def _from(address: str) -> dict[str, str]:
    # uvicorn takes the client's address from this header when the peer is 127.0.0.1.
    return {"X-Forwarded-For": address}


class TestPerAccount:
    async def test_guessing_from_one_address_locks_out_only_that_address(
        self, make_settings: MakeSettings
    ) -> None:
        settings = make_settings(
            login_max_failures_per_account=2, login_max_failures_per_account_all_addresses=10
        )
        async with (
            serve(create_app(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as client,
        ):
            user = await register_and_login(base_url)
            form = {"username": user.email, "password": "wrong password"}
            right = {"username": user.email, "password": user.password}
            login = "/api/v1/auth/login"
            guesses = [
                (await client.post(login, data=form, headers=_from("203.0.113.7"))).status_code
                for _ in range(3)
            ]
            attacker = await client.post(login, data=right, headers=_from("203.0.113.7"))
            owner = await client.post(login, data=right, headers=_from("198.51.100.1"))
        assert guesses == [401, 401, 429]
        assert attacker.status_code == 429
        assert owner.status_code == 200

    async def test_guessing_from_many_addresses_locks_the_account(
        self, make_settings: MakeSettings
    ) -> None:
        settings = make_settings(
            login_max_failures_per_account=2, login_max_failures_per_account_all_addresses=4
        )
        async with (
            serve(create_app(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as client,
        ):
            user = await register_and_login(base_url)
            form = {"username": user.email, "password": "wrong password"}
            login = "/api/v1/auth/login"
            guesses = [
                (await client.post(login, data=form, headers=_from(f"203.0.113.{n}"))).status_code
                for n in range(5)
            ]
            owner = await client.post(
                login,
                data={"username": user.email, "password": user.password},
                headers=_from("198.51.100.1"),
            )
        assert guesses == [401, 401, 401, 401, 429]
        assert owner.status_code == 429
        assert int(owner.headers["retry-after"]) > 0


async def _guess(throttle: LoginThrottle, email: str, address: str) -> bool:
    """A wrong password, if the throttle lets it be tried; whether it was tried."""
    if await throttle.attempt(email, address) is not None:
        return False
    await throttle.failed(address)
    return True


class TestCounters:
    """LoginThrottle over in-process counters: which attempts count together."""

    @staticmethod
    def throttle() -> LoginThrottle:
        return LoginThrottle(
            MemoryCounters(),
            max_failures_per_account=2,
            max_failures_per_account_all_addresses=5,
            max_failures_per_address=100,
            window_seconds=300,
        )

    async def test_no_username_spells_another_counter(self) -> None:
        throttle = self.throttle()
        victim, home = "victim@example.com", "198.51.100.1"
        for crafted in (f"{victim}:from:{home}", f"{victim}:{home}", f"{victim}|{home}"):
            for _ in range(2):
                assert await _guess(throttle, crafted, "203.0.113.9")
        assert await throttle.attempt(victim, home) is None

    async def test_an_ipv6_64_counts_as_one_address(self) -> None:
        throttle = self.throttle()
        assert await _guess(throttle, "a@example.com", "2001:db8:1:2::1")
        assert await _guess(throttle, "a@example.com", "2001:db8:1:2:ffff::7")
        assert not await _guess(throttle, "a@example.com", "2001:db8:1:2::99")
        assert await _guess(throttle, "a@example.com", "2001:db8:1:3::1")

    async def test_success_clears_the_count_over_all_addresses(self) -> None:
        throttle = self.throttle()
        for n in range(4):
            assert await _guess(throttle, "a@example.com", f"203.0.113.{n}")
        assert await throttle.attempt("a@example.com", "198.51.100.1") is None
        await throttle.succeeded("a@example.com", "198.51.100.1")
        # 4 + 2 would have passed 5 without the success between them.
        assert await _guess(throttle, "a@example.com", "203.0.113.50")
        assert await _guess(throttle, "a@example.com", "203.0.113.51")


class TestParallelGuesses:
    async def test_guesses_sent_at_once_get_no_more_tries_than_one_at_a_time(
        self, make_settings: MakeSettings
    ) -> None:
        """Every attempt is counted before its password is hashed: were it counted after,
        all of them would be checked before the first failure was."""
        settings = make_settings(login_max_failures_per_account=2)
        async with (
            serve(create_app(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as client,
        ):
            user = await register_and_login(base_url)
            responses = await asyncio.gather(
                *(_login(client, user.email, f"guess {n}") for n in range(10))
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [401, 401] + [429] * 8


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
