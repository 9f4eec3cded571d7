"""Nothing is lost: ?since= catch-up from the inbox, the inbox over REST, and a gateway
that dies between storing and pushing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID, uuid4

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import update

from notify_ws_service.fanout.push import Push
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import Notification
from shared.db import session_scope, utcnow
from shared.testing.auth_service import AuthUser, register_and_login
from tests.conftest import SettingsFactory
from tests.support import (
    Served,
    connect,
    frames_until_recovered,
    nothing_within,
    notification,
    receive_json,
    serve_gateway,
)


async def _inbox(base_url: str, user: AuthUser) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=base_url, headers=user.headers) as client:
        response = await client.get("/api/v1/notify/notifications", params={"limit": 50})
        assert response.status_code == 200
        items: list[dict[str, object]] = response.json()["items"]
        return items


async def _wait_stored(base_url: str, user: AuthUser, count: int) -> list[dict[str, object]]:
    async with asyncio.timeout(30):
        while len(items := await _inbox(base_url, user)) < count:
            await asyncio.sleep(0.2)
    return items


class TestSince:
    async def test_missed_notifications_come_in_order_then_recovered(
        self,
        auth_service_url: str,
        gateway: Served,
        producer: AIOKafkaProducer,
    ) -> None:
        user = await register_and_login(auth_service_url)
        settings = gateway.gateway.settings
        topic, key = settings.notification_topic, str(user.id).encode()
        async with connect(gateway.ws_url(user.access_token, v="2")) as ws:
            await producer.send_and_wait(topic, notification(user.id, "seen", "0"), key=key)
            last_seen = (await receive_json(ws))["id"]
        for n in range(1, 4):
            await producer.send_and_wait(topic, notification(user.id, "missed", str(n)), key=key)
        await _wait_stored(gateway.base_url, user, 4)

        async with connect(gateway.ws_url(user.access_token, v="2", since=last_seen)) as ws:
            frames = await frames_until_recovered(ws)
            assert [f.get("body") for f in frames[:-1]] == ["1", "2", "3"]
            assert frames[-1] == {"type": "recovered", "complete": True}
            assert await nothing_within(ws, 1.0)

        items = await _inbox(gateway.base_url, user)
        assert [i["body"] for i in items] == ["3", "2", "1", "0"]
        assert [str(i["id"]) for i in reversed(items)][1:] == [f["id"] for f in frames[:-1]]

    async def test_unknown_since_reports_incomplete(
        self, auth_service_url: str, make_settings: SettingsFactory
    ) -> None:
        user = await register_and_login(auth_service_url)
        async with (
            serve_gateway(make_settings(), wait_consuming=False) as gateway,
            connect(gateway.ws_url(user.access_token, since=str(uuid4()))) as ws,
        ):
            assert await receive_json(ws) == {"type": "recovered", "complete": False}


class TestCrashBetweenStoreAndPush:
    async def test_the_client_catches_up_and_gets_it_once(
        self,
        auth_service_url: str,
        make_settings: SettingsFactory,
        producer: AIOKafkaProducer,
    ) -> None:
        user = await register_and_login(auth_service_url)
        settings = make_settings()
        topic, key = settings.notification_topic, str(user.id).encode()

        async with (
            serve_gateway(settings) as first,
            connect(first.ws_url(user.access_token, v="2")) as ws,
        ):
            await producer.send_and_wait(topic, notification(user.id, "before", "0"), key=key)
            last_seen = (await receive_json(ws))["id"]

            # The gateway dies after storing and before pushing: publishing never
            # happens and the offset is never committed.
            async def die(pushes: Sequence[Push]) -> None:
                raise ConnectionError("gateway died")

            first.gateway.ingestor._bus.publish = die  # type: ignore[method-assign]
            await producer.send_and_wait(topic, notification(user.id, "lost?", "1"), key=key)
            stored = await _wait_stored(first.base_url, user, 2)
            assert stored[0]["body"] == "1"

        async with (
            serve_gateway(settings) as second,
            connect(second.ws_url(user.access_token, v="2", since=last_seen)) as ws,
        ):
            frames = await frames_until_recovered(ws)
            assert [f.get("body") for f in frames] == ["1", None]
            # The redelivered record is pushed live too, but never twice to this socket.
            assert await nothing_within(ws, 2.0)
            assert len(await _inbox(second.base_url, user)) == 2
            assert UUID(frames[0]["id"]) == UUID(str(stored[0]["id"]))


class TestRedeliveryAfterResume:
    async def test_a_record_consumed_again_is_not_pushed_to_the_resumed_socket(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        """An instance dies after pushing and before committing; the socket resumes on
        another one with since= the last id it got, then the record is consumed again
        there (stored already, pushed again): the client must not see it twice."""
        user = await register_and_login(auth_service_url)
        first, second = (
            NewNotification(message_id=uuid4(), user_id=user.id, title="t", body=body)
            for body in ("first", "second")
        )
        await gateway.gateway.ingestor.ingest([first, second])
        async with connect(
            gateway.ws_url(user.access_token, v="2", since=str(second.message_id))
        ) as ws:
            assert await frames_until_recovered(ws) == [{"type": "recovered", "complete": True}]
            await gateway.gateway.ingestor.ingest([first, second])
            assert await nothing_within(ws, 1.0)


class TestRetention:
    async def test_since_a_pruned_notification_reports_incomplete(
        self, auth_service_url: str, gateway: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        old, recent = uuid4(), uuid4()
        await gateway.gateway.ingestor.ingest(
            [
                NewNotification(message_id=old, user_id=user.id, title="t", body="old"),
                NewNotification(message_id=recent, user_id=user.id, title="t", body="recent"),
            ]
        )
        async with session_scope(gateway.gateway.sessionmaker) as session:
            await session.execute(
                update(Notification)
                .where(Notification.message_id == old)
                .values(created_at=utcnow() - timedelta(days=400))
            )
        assert await gateway.gateway.prune_inbox() >= 1
        assert [i["body"] for i in await _inbox(gateway.base_url, user)] == ["recent"]
        async with connect(gateway.ws_url(user.access_token, since=str(old))) as ws:
            assert await receive_json(ws) == {"type": "recovered", "complete": False}
        async with connect(gateway.ws_url(user.access_token, v="2", since=str(recent))) as ws:
            assert await receive_json(ws) == {"type": "recovered", "complete": True}
