"""Pushes published out of inbox order (two instances storing for one user publish on
their own) reach each socket in order and once, live and across a ``since=`` resume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from sqlalchemy import update

from notify_ws_service.fanout.push import Push
from notify_ws_service.inbox import service
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import Notification
from shared.db import session_scope
from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import (
    Served,
    connect,
    frames_until_recovered,
    nothing_within,
    receive_json,
    serve_gateway,
)


@pytest.fixture
async def gateway(redis_url: str, make_settings: SettingsFactory) -> AsyncIterator[Served]:
    """Fan-out through Redis, as in a fleet; pushes are published by the tests."""
    async with serve_gateway(make_settings(redis_url=redis_url), wait_consuming=False) as served:
        yield served


async def store(gateway: Served, user_id: UUID, *bodies: str) -> list[Push]:
    """Stored, not published yet: the tests publish in the order they want."""
    items = [NewNotification(uuid4(), user_id, "t", body) for body in bodies]
    async with session_scope(gateway.gateway.sessionmaker) as session:
        stored = await service.store(session, items)
    return stored.new


async def bodies(ws: object, count: int) -> list[str]:
    return [(await receive_json(ws))["body"] for _ in range(count)]  # type: ignore[arg-type]


class TestLive:
    async def test_position_3_before_2_sends_2_then_3_once(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        bus = gateway.gateway.bus
        async with connect(gateway.ws_url(user.access_token, v="2")) as ws:
            (first,) = await store(gateway, user.id, "1")
            await bus.publish([first])
            assert await bodies(ws, 1) == ["1"]
            second, third = await store(gateway, user.id, "2", "3")
            await bus.publish([third])
            await bus.publish([second])
            await bus.publish([first, second, third])  # records consumed again
            assert await bodies(ws, 2) == ["2", "3"]
            assert await nothing_within(ws, 1.0)

    async def test_a_push_never_published_is_read_from_the_inbox(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        async with connect(gateway.ws_url(user.access_token, v="2")) as ws:
            pushes = await store(gateway, user.id, "1", "2", "3")
            await gateway.gateway.bus.publish([pushes[2]])
            assert await bodies(ws, 3) == ["1", "2", "3"]
            assert await nothing_within(ws, 0.5)

    async def test_what_was_stored_before_the_socket_opened_is_not_pushed(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        before = await store(gateway, user.id, "before")
        async with connect(gateway.ws_url(user.access_token, v="2")) as ws:
            after = await store(gateway, user.id, "after")
            await gateway.gateway.bus.publish([*before, *after])
            assert await bodies(ws, 1) == ["after"]
            assert await nothing_within(ws, 0.5)


class TestResume:
    async def test_after_out_of_order_publication_nothing_repeats_and_nothing_is_missed(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        bus = gateway.gateway.bus
        async with connect(gateway.ws_url(user.access_token, v="2")) as ws:
            one, two, three = await store(gateway, user.id, "1", "2", "3")
            await bus.publish([one, three])
            received = [await receive_json(ws) for _ in range(3)]
        assert [f["body"] for f in received] == ["1", "2", "3"]
        four, five = await store(gateway, user.id, "4", "5")
        await bus.publish([five])  # nobody is connected
        async with connect(
            gateway.ws_url(user.access_token, v="2", since=received[-1]["id"])
        ) as ws:
            frames = await frames_until_recovered(ws)
            assert [f.get("body", f["type"]) for f in frames] == ["4", "5", "recovered"]
            await bus.publish([two, three, four, five])  # published late
            assert await nothing_within(ws, 1.0)

    async def test_since_counts_inbox_positions_not_arrival_ids(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        """Ids are handed out before commit; the notification with the lower id can be
        the one that committed, and was delivered, later."""
        user = await register_and_login(auth_service_url)
        early_id, late_id = await store(gateway, user.id, "lower id", "higher id")
        await _swap_positions(gateway, early_id, late_id)
        async with connect(
            gateway.ws_url(user.access_token, v="2", since=str(late_id.message_id))
        ) as ws:
            frames = await frames_until_recovered(ws)
            assert [f.get("body", f["type"]) for f in frames] == ["lower id", "recovered"]


async def _swap_positions(gateway: Served, first: Push, second: Push) -> None:
    async with session_scope(gateway.gateway.sessionmaker) as session:
        moves = ((first, -1), (second, first.position), (first, second.position))
        for push, position in moves:
            await session.execute(
                update(Notification)
                .where(Notification.message_id == push.message_id)
                .values(position=position)
            )
