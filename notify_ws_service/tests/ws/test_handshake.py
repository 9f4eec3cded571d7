"""Who gets a socket: token checks against the real auth_service, limits, Origin."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from prometheus_client import REGISTRY
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from shared.devbroker import free_port
from shared.testing.auth_service import AuthUser, register_and_login
from tests.conftest import SettingsFactory
from tests.support import close_code, connect, serve_gateway


def auth_calls() -> float:
    return sum(
        REGISTRY.get_sample_value("notify_auth_calls_total", {"outcome": outcome}) or 0.0
        for outcome in ("accepted", "refused", "unavailable")
    )


@pytest.fixture
async def user(auth_service_url: str) -> AuthUser:
    return await register_and_login(auth_service_url)


class TestToken:
    async def test_missing_token_closes_4401(self, make_settings: SettingsFactory) -> None:
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url()) as ws,
        ):
            assert await close_code(ws) == (4401, "missing token")

    async def test_bad_token_closes_4401(
        self, auth_service_url: str, make_settings: SettingsFactory
    ) -> None:
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url("not-a-token")) as ws,
        ):
            code, _ = await close_code(ws)
            assert code == 4401

    @pytest.mark.parametrize("token", ["%C3%BC", "a.%C3%BC.c"])
    async def test_a_token_that_is_not_ascii_closes_4401(
        self, make_settings: SettingsFactory, token: str
    ) -> None:
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url(token)) as ws,
        ):
            assert await close_code(ws) == (4401, "missing or malformed token")

    async def test_header_token_is_accepted(
        self, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url(), additional_headers=user.headers) as ws,
        ):
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}

    async def test_revoked_token_closes_4401(
        self, auth_service_url: str, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        async with httpx.AsyncClient(base_url=auth_service_url) as client:
            response = await client.post("/api/v1/auth/logout", headers=user.headers)
            assert response.status_code in (200, 204)
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token)) as ws,
        ):
            code, _ = await close_code(ws)
            assert code == 4401

    async def test_auth_unreachable_closes_1013(self, make_settings: SettingsFactory) -> None:
        settings = make_settings(auth_url=f"http://127.0.0.1:{free_port()}")
        async with (
            serve_gateway(settings, wait_consuming=False) as gateway,
            connect(gateway.ws_url("some.jwt.token")) as ws,
        ):
            code, _ = await close_code(ws)
            assert code == 1013

    async def test_revocation_closes_a_live_socket(
        self, auth_service_url: str, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        settings = make_settings(revalidate_interval=0.3, auth_cache_ttl=0.1)
        async with (
            serve_gateway(settings, wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token)) as ws,
        ):
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}
            async with httpx.AsyncClient(base_url=auth_service_url) as client:
                await client.post("/api/v1/auth/logout", headers=user.headers)
            code, _ = await close_code(ws)
            assert code == 4401

    async def test_a_logout_closes_that_sessions_sockets_at_once_and_only_those(
        self, auth_service_url: str, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        # Re-checks and the cache far off: only the session.ended event can act in time.
        settings = make_settings(revalidate_interval=600, auth_cache_ttl=600)
        async with httpx.AsyncClient(base_url=auth_service_url) as client:
            again = await client.post(
                "/api/v1/auth/login", data={"username": user.email, "password": user.password}
            )
            other = again.json()["access_token"]
            async with (
                serve_gateway(settings, wait_consuming=False) as gateway,
                connect(gateway.ws_url(user.access_token)) as ended,
                connect(gateway.ws_url(other)) as kept,
            ):
                for ws in (ended, kept):
                    await ws.send(json.dumps({"type": "ping"}))
                    assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}
                logout = await client.post("/api/v1/auth/logout", headers=user.headers)
                assert logout.status_code == 204
                assert await close_code(ended) == (4401, "session ended")
                await kept.send(json.dumps({"type": "ping"}))
                assert json.loads(await asyncio.wait_for(kept.recv(), 10)) == {"type": "pong"}
                # Its check is still cached, yet the token is refused.
                async with connect(gateway.ws_url(user.access_token)) as refused:
                    assert await close_code(refused) == (4401, "session ended")

    async def test_a_reconnect_storm_makes_few_auth_calls(
        self, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        settings = make_settings(max_sockets_per_user=500)
        async with serve_gateway(settings, wait_consuming=False) as gateway:
            before = auth_calls()

            async def one() -> None:
                async with connect(gateway.ws_url(user.access_token), open_timeout=60) as ws:
                    await ws.send(json.dumps({"type": "ping"}))
                    assert json.loads(await asyncio.wait_for(ws.recv(), 60)) == {"type": "pong"}

            await asyncio.gather(*(one() for _ in range(200)))
            assert auth_calls() - before <= 3


class TestRefresh:
    async def test_refresh_with_a_fresh_token_is_confirmed(
        self, auth_service_url: str, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        async with httpx.AsyncClient(base_url=auth_service_url) as client:
            login = await client.post(
                "/api/v1/auth/login", data={"username": user.email, "password": user.password}
            )
        fresh = login.json()["access_token"]
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token)) as ws,
        ):
            await ws.send(json.dumps({"type": "refresh", "token": fresh}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply["type"] == "refreshed"

    async def test_refresh_with_another_users_token_is_refused(
        self, auth_service_url: str, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        other = await register_and_login(auth_service_url)
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token)) as ws,
        ):
            await ws.send(json.dumps({"type": "refresh", "token": other.access_token}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (reply["type"], reply["error"]) == ("error", "invalid_token")


class TestLimits:
    async def test_instance_limit_refuses_the_handshake_with_503(
        self, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        async with (
            serve_gateway(make_settings(max_connections=1), wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token)),
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(gateway.ws_url(user.access_token)):
                    pass
            assert refused.value.response.status_code == 503

    async def test_sockets_per_user_are_capped_with_4429(
        self, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        async with (
            serve_gateway(make_settings(max_sockets_per_user=1), wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token)),
            connect(gateway.ws_url(user.access_token)) as second,
        ):
            code, _ = await close_code(second)
            assert code == 4429

    async def test_too_many_frames_close_4429(
        self, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        settings = make_settings(frames_per_second=1, frame_burst=3)
        async with (
            serve_gateway(settings, wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token)) as ws,
        ):
            for _ in range(10):
                await ws.send(json.dumps({"type": "ping"}))
            code, reason = await close_code(ws)
            assert (code, reason) == (4429, "too many frames")

    async def test_foreign_origin_is_refused(
        self, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        settings = make_settings(allowed_origins=["https://app.example"])
        async with serve_gateway(settings, wait_consuming=False) as gateway:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(
                    gateway.ws_url(user.access_token), origin=Origin("https://evil.example")
                ):
                    pass
            assert refused.value.response.status_code == 403
            async with connect(
                gateway.ws_url(user.access_token),
                origin=Origin("https://app.example"),
            ) as ws:
                await ws.send(json.dumps({"type": "ping"}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}

    async def test_oversized_frame_closes_1009(
        self, user: AuthUser, make_settings: SettingsFactory
    ) -> None:
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token), max_size=None) as ws,
        ):
            await ws.send("x" * (64 * 1024 + 1))
            code, _ = await close_code(ws)
            assert code == 1009
