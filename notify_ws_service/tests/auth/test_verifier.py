"""The token check: cached never past the token's exp, concurrent checks coalesced."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from notify_ws_service.auth.verifier import AuthUnavailable, AuthVerifier
from shared.devbroker import free_port
from shared.errors import InvalidToken
from shared.testing.auth_service import AuthUser, register_and_login


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.calls += 1


@pytest.fixture
async def user(auth_service_url: str) -> AuthUser:
    return await register_and_login(auth_service_url)


class TestAuthVerifier:
    async def test_concurrent_checks_of_one_token_make_one_call(
        self, auth_service_url: str, user: AuthUser
    ) -> None:
        counting = Counting()
        async with httpx.AsyncClient(event_hooks={"request": [counting]}) as client:
            verifier = AuthVerifier(auth_service_url, client)
            identities = await asyncio.gather(
                *(verifier.verify(user.access_token) for _ in range(100))
            )
        assert {i.user_id for i in identities} == {user.id}
        assert counting.calls == 1

    async def test_the_cache_never_outlives_the_token(
        self, auth_service_url: str, user: AuthUser
    ) -> None:
        now = [0.0]
        counting = Counting()
        async with httpx.AsyncClient(event_hooks={"request": [counting]}) as client:
            verifier = AuthVerifier(
                auth_service_url, client, cache_ttl=10_000, clock=lambda: now[0]
            )
            now[0] = time.time()
            identity = await verifier.verify(user.access_token)
            await verifier.verify(user.access_token)
            assert counting.calls == 1
            now[0] = identity.exp + 1  # past exp: asked again, and auth_service refuses it
            with pytest.raises(InvalidToken):
                await verifier.verify(user.access_token)
            assert counting.calls == 2

    async def test_refusals_are_cached_briefly(self, auth_service_url: str) -> None:
        counting = Counting()
        async with httpx.AsyncClient(event_hooks={"request": [counting]}) as client:
            verifier = AuthVerifier(auth_service_url, client, negative_ttl=60)
            for _ in range(3):
                with pytest.raises(InvalidToken):
                    await verifier.verify("a.bad.token")
        assert counting.calls == 1

    @pytest.mark.parametrize("token", ["", "Basic dXNlcjpwdw==", "a.b.c\x00", "ключ.b.c"])
    async def test_what_is_no_jwt_is_refused_without_a_call(
        self, auth_service_url: str, token: str
    ) -> None:
        counting = Counting()
        async with httpx.AsyncClient(event_hooks={"request": [counting]}) as client:
            with pytest.raises(InvalidToken):
                await AuthVerifier(auth_service_url, client).verify(token)
        assert counting.calls == 0

    async def test_unreachable_auth_is_not_cached(self) -> None:
        counting = Counting()
        async with httpx.AsyncClient(event_hooks={"request": [counting]}) as client:
            verifier = AuthVerifier(f"http://127.0.0.1:{free_port()}", client)
            for _ in range(2):
                with pytest.raises(AuthUnavailable):
                    await verifier.verify("a.b.c")
        assert counting.calls == 2
