"""Events travel through the outbox: user.registered is written with the user and
published later; an ended session is published too."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from jose import jwt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth_service.auth.service import register
from auth_service.config import Settings
from auth_service.main import create_app
from auth_service.models import OutboxEvent, User
from auth_service.passwords import Passwords
from auth_service.schema import upgrade
from auth_service.users.schemas import UserUpdate
from auth_service.users.service import update_profile
from shared.db import create_engine
from shared.events.topics import AUTH_EVENTS
from shared.testing.proxy import broker_behind_proxy
from shared.testing.server import serve
from shared.testing.services import fresh_database
from tests.conftest import MakeSettings
from tests.helpers import unique_email


async def _count(session: AsyncSession, model: type[Any], **where: Any) -> int:
    query = select(func.count()).select_from(model).filter_by(**where)
    return int(await session.scalar(query) or 0)


class TestSameTransaction:
    async def test_the_event_is_staged_with_the_user_and_rolled_back_with_it(
        self, engine: AsyncEngine, settings: Settings
    ) -> None:
        email = unique_email("tx")
        async with AsyncSession(engine) as session:
            user = await register(
                session,
                Passwords(settings),
                email=email,
                password="a sound passphrase",
                display_name=None,
            )
            await session.flush()
            events = (
                await session.scalars(select(OutboxEvent).where(OutboxEvent.key == str(user.id)))
            ).all()
            assert len(events) == 1
            assert events[0].topic == AUTH_EVENTS
            payload = json.loads(events[0].payload)
            assert payload["type"] == "user.registered"
            assert payload["data"] == {
                "user_id": str(user.id),
                "email": email,
                "display_name": email.partition("@")[0],
                "avatar_url": None,
            }
            await session.rollback()

        async with AsyncSession(engine) as session:
            assert await _count(session, User, email=email) == 0
            assert await _count(session, OutboxEvent, key=str(user.id)) == 0

    async def test_a_profile_change_stages_user_updated_and_a_no_op_nothing(
        self, engine: AsyncEngine, settings: Settings
    ) -> None:
        async with AsyncSession(engine) as session:
            user = await register(
                session,
                Passwords(settings),
                email=unique_email("upd"),
                password="a sound passphrase",
                display_name="Before",
            )
            await update_profile(session, user, changes=UserUpdate(display_name="Before"))
            await update_profile(session, user, changes=UserUpdate(display_name="After"))
            await session.flush()
            rows = (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.key == str(user.id))
                    .order_by(OutboxEvent.id)
                )
            ).all()
            events = [json.loads(row.payload) for row in rows]
            assert [e["type"] for e in events] == ["user.registered", "user.updated"]
            assert events[1]["data"]["display_name"] == "After"
            await session.rollback()


@pytest.fixture
async def own_database(postgres_server_url: str) -> AsyncIterator[str]:
    # Its own database: the session's app would otherwise relay these events elsewhere.
    async with fresh_database(postgres_server_url, "auth_outage") as url:
        await asyncio.to_thread(upgrade, url)
        yield url


async def _outbox_size(database_url: str) -> int:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with AsyncSession(engine) as session:
            return await _count(session, OutboxEvent)
    finally:
        await engine.dispose()


async def _events_of(
    bootstrap: str, user_id: UUID, *, until: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> list[dict[str, Any]]:
    """The user's events on auth.events (one partition: in order) up to ``until``."""
    consumer = AIOKafkaConsumer(
        AUTH_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    events: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event: dict[str, Any] = json.loads(record.value)
                    if event["data"].get("user_id") == str(user_id):
                        assert record.key == str(user_id).encode()
                        events.append(event)
                        if until(event):
                            return events
    finally:
        await consumer.stop()
    raise AssertionError(f"the awaited event never arrived on auth.events; got {events}")


async def _wait_for_event(bootstrap: str, user_id: UUID) -> dict[str, Any]:
    return (await _events_of(bootstrap, user_id, until=lambda _: True))[-1]


PASSWORD = "a sound passphrase"


async def _register(client: httpx.AsyncClient) -> str:
    email = unique_email("ended")
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201
    return email


async def _login(client: httpx.AsyncClient, email: str) -> tuple[UUID, str, str]:
    """(user id, session id, refresh token) of a new login."""
    response = await client.post(
        "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200
    claims = jwt.get_unverified_claims(response.json()["access_token"])
    return UUID(claims["sub"]), str(claims["sid"]), str(response.json()["refresh_token"])


def _ended(session_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "session.ended" and e["data"]["session_id"] == session_id


class TestSessionEnded:
    async def test_logout_publishes_it_once(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        email = await _register(client)
        user_id, first, refresh_token = await _login(client, email)
        for _ in range(2):
            response = await client.post(
                "/api/v1/auth/logout", json={"refresh_token": refresh_token}
            )
            assert response.status_code in (204, 401)
        # A later session's end, on the same partition, marks where to stop reading.
        _, second, refresh_token = await _login(client, email)
        response = await client.post("/api/v1/auth/logout", json={"refresh_token": refresh_token})
        assert response.status_code == 204

        events = await _events_of(settings.kafka_bootstrap_servers, user_id, until=_ended(second))
        ended = [e for e in events if e["type"] == "session.ended"]
        assert [e["data"]["session_id"] for e in ended] == [first, second]
        assert ended[0]["data"] == {
            "session_id": first,
            "user_id": str(user_id),
            "reason": "logout",
        }
        assert ended[0]["actor_id"] == str(user_id)

    async def test_a_replayed_refresh_token_publishes_it(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        user_id, session_id, refresh_token = await _login(client, await _register(client))
        rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
        assert rotated.status_code == 200
        replayed = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
        assert replayed.status_code == 401

        events = await _events_of(
            settings.kafka_bootstrap_servers, user_id, until=_ended(session_id)
        )
        assert events[-1]["data"]["reason"] == "refresh_reuse"

    async def test_a_new_password_publishes_it_for_the_other_sessions(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        email = await _register(client)
        user_id, _, _ = await _login(client, email)
        _, other, _ = await _login(client, email)
        login = await client.post(
            "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
        )
        changed = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert changed.json() == {"ended": 2}
        events = await _events_of(settings.kafka_bootstrap_servers, user_id, until=_ended(other))
        assert {e["data"]["reason"] for e in events if e["type"] == "session.ended"} == {
            "password_changed"
        }


class TestBrokerOutage:
    async def test_registration_succeeds_and_the_event_arrives_once_the_broker_is_back(
        self, own_database: str, make_settings: MakeSettings
    ) -> None:
        async with broker_behind_proxy() as proxy:
            proxy.cut()
            settings = make_settings(
                database_url=own_database, kafka_bootstrap_servers=proxy.address
            )
            async with (
                serve(create_app(settings)) as base_url,
                httpx.AsyncClient(base_url=base_url, timeout=30) as client,
            ):
                response = await client.post(
                    "/api/v1/auth/register",
                    json={"email": unique_email("outage"), "password": "a sound passphrase"},
                )
                assert response.status_code == 201
                user_id = UUID(response.json()["id"])
                ready = await client.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["checks"]["kafka"] != "ok"
                assert await _outbox_size(own_database) == 1

                proxy.restore()
                event = await _wait_for_event(proxy.address, user_id)

                assert event["type"] == "user.registered"
                assert event["actor_id"] == str(user_id)
                deadline = time.monotonic() + 30
                while await _outbox_size(own_database) and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                assert await _outbox_size(own_database) == 0
