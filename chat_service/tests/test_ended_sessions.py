"""A session auth_service ends (logout) is refused at once: its token gets 401 over REST,
its open sockets close with 4401, and the user's other sessions go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import httpx
import pytest
from jose import jwt

from chat_service.main import create_app
from chat_service.state import ChatState
from shared.testing.auth_service import register_and_login
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import Person, connect

WAIT = 30


@pytest.fixture
async def chat_with_kafka(make_settings: MakeSettings, kafka_bootstrap: str) -> AsyncIterator[str]:
    settings = make_settings(kafka_enabled=True, kafka_bootstrap_servers=kafka_bootstrap)
    async with serve(create_app(settings), ws_max_size=settings.ws_max_frame_bytes) as url:
        yield url


async def _chats(client: httpx.AsyncClient, person: Person) -> httpx.Response:
    return await client.get("/api/v1/chats", headers=person.headers)


async def _two_sessions(auth_service_url: str) -> tuple[Person, Person]:
    """One user logged in twice: a token of each session."""
    user = await register_and_login(auth_service_url)
    async with httpx.AsyncClient(base_url=auth_service_url, timeout=WAIT) as auth:
        again = await auth.post(
            "/api/v1/auth/login", data={"username": user.email, "password": user.password}
        )
    return (
        Person(user.id, user.display_name, user.access_token),
        Person(user.id, user.display_name, again.json()["access_token"]),
    )


async def _logout(auth_service_url: str, person: Person) -> None:
    async with httpx.AsyncClient(base_url=auth_service_url, timeout=WAIT) as auth:
        response = await auth.post("/api/v1/auth/logout", headers=person.headers)
    assert response.status_code == 204


async def test_a_logged_out_session_is_refused_and_its_sockets_closed(
    chat_with_kafka: str, auth_service_url: str
) -> None:
    ended, other = await _two_sessions(auth_service_url)
    async with (
        httpx.AsyncClient(base_url=chat_with_kafka, timeout=WAIT) as chat,
        connect(chat_with_kafka, "/ws", ended) as ended_socket,
        connect(chat_with_kafka, "/ws", other) as other_socket,
    ):
        assert (await _chats(chat, ended)).status_code == 200
        assert (await ended_socket.request("ping"))["pong"] is True

        await _logout(auth_service_url, ended)

        assert await ended_socket.closed(timeout=WAIT) == (4401, "session ended")
        refused = await _chats(chat, ended)
        assert refused.status_code == 401
        assert refused.json() == {"error": "InvalidToken", "detail": "session ended"}
        assert (await _chats(chat, other)).status_code == 200
        assert (await other_socket.request("ping"))["pong"] is True
        async with connect(chat_with_kafka, "/ws", ended) as refused_socket:
            assert await refused_socket.closed(timeout=WAIT) == (4401, "session ended")


async def test_a_refresh_with_a_token_of_an_ended_session_is_refused(
    chat_with_kafka: str, auth_service_url: str
) -> None:
    current, stale = await _two_sessions(auth_service_url)
    await _logout(auth_service_url, stale)
    async with httpx.AsyncClient(base_url=chat_with_kafka, timeout=WAIT) as chat:
        async with asyncio.timeout(WAIT):
            while (await _chats(chat, stale)).status_code != 401:
                await asyncio.sleep(0.1)  # the end is not learned yet
    async with connect(chat_with_kafka, "/ws", current) as socket:
        reply = await socket.request("refresh", token=stale.token)
        assert (reply["error"], reply["detail"]) == ("InvalidToken", "session ended")
        assert (await socket.request("ping"))["pong"] is True


async def test_a_socket_whose_session_ends_during_its_handshake_is_refused(
    make_settings: MakeSettings, auth_service_url: str
) -> None:
    person, _ = await _two_sessions(auth_service_url)
    app = create_app(make_settings())
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=WAIT) as chat:
        created = await chat.post(
            "/api/v1/chats", json={"name": "race", "member_ids": []}, headers=person.headers
        )
        # Learned after the token was checked, before the socket was registered: the
        # token passes the verifier, and only the check after registering sees the end.
        state: ChatState = app.state.chat
        state.ended = {UUID(jwt.get_unverified_claims(person.token)["sid"])}
        for path in (f"/ws/chat/{created.json()['id']}", "/ws"):
            async with connect(url, path, person) as socket:
                assert await socket.closed(timeout=WAIT) == (4401, "session ended")


async def test_ready_once_the_ended_sessions_are_read(chat_with_kafka: str) -> None:
    async with httpx.AsyncClient(base_url=chat_with_kafka, timeout=WAIT) as chat:
        async with asyncio.timeout(WAIT):
            while (ready := await chat.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.2)
    assert ready.json()["checks"]["ended_sessions"] == "ok"
