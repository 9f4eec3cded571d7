"""Events that arrive together reach each socket in one write, in order; a close among
them, or one asked for before the socket opened, goes out after what came before it."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from typing import cast
from uuid import UUID, uuid4

from redis.asyncio import Redis
from starlette.websockets import WebSocket

from chat_service.context import Actor
from chat_service.realtime.frames import Delivery, Outgoing
from chat_service.realtime.hub import LocalHub, RedisHub
from chat_service.ws.connection import Connection
from shared.ws.wire import TextFrame


class FakeWire:
    def __init__(self) -> None:
        self.frames: list[TextFrame] = []
        # How many frames each write carried.
        self.writes: list[int] = []
        self.closed: tuple[int, str] | None = None
        # How many frames were written when the close frame was.
        self.closed_after: int | None = None

    def write(self, *frames: TextFrame) -> int | None:
        self.frames.extend(frames)
        self.writes.append(len(frames))
        return 0

    def close(self, code: int, reason: str, *, timeout: float) -> None:
        self.closed = (code, reason)
        self.closed_after = len(self.frames)

    def texts(self) -> list[str]:
        return [json.loads(frame.payload)["data"]["text"] for frame in self.frames]


def unopened(chat_id: UUID | None = None) -> tuple[Connection, FakeWire]:
    wire = FakeWire()
    connection = Connection(
        cast(WebSocket, None),
        wire,
        Actor(uuid4()),
        expires_at=math.inf,
        max_buffer=1000,
        close_timeout=1.0,
        chat_id=chat_id,
    )
    return connection, wire


def opened(chat_id: UUID | None = None) -> tuple[Connection, FakeWire]:
    connection, wire = unopened(chat_id)
    connection.open()
    return connection, wire


def delivery(user_id: UUID, chat_id: UUID, text: str, event: str = "message_created") -> Delivery:
    frame = {"type": "event", "event": event, "chat_id": str(chat_id), "data": {"text": text}}
    return Delivery((user_id,), frame)


class Recorder:
    """A subscriber that records what each offer carried."""

    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.offers: list[list[str]] = []

    def offer_all(self, events: Sequence[Outgoing]) -> None:
        self.offers.append([json.loads(event.text)["data"]["text"] for event in events])


class TestConnection:
    def test_events_offered_together_go_out_in_one_write(self) -> None:
        connection, wire = opened()
        chat = uuid4()
        events = [delivery(connection.user_id, chat, str(n)).outgoing() for n in range(3)]
        connection.offer_all(events)
        assert wire.texts() == ["0", "1", "2"]
        assert wire.writes == [3]

    def test_a_chat_socket_closed_by_an_event_gets_what_came_before_then_the_close(
        self,
    ) -> None:
        chat, other = uuid4(), uuid4()
        connection, wire = opened(chat_id=chat)
        user = connection.user_id
        connection.offer_all(
            [
                delivery(user, chat, "before").outgoing(),
                delivery(user, other, "another chat's").outgoing(),
                delivery(user, chat, "deleted", event="chat_deleted").outgoing(),
                delivery(user, chat, "after").outgoing(),
            ]
        )
        assert wire.texts() == ["before", "deleted"]
        assert wire.writes == [2]
        assert wire.closed == (1000, "chat deleted")
        assert wire.closed_after == 2


class TestHubs:
    async def test_a_local_batch_reaches_each_socket_in_one_offer(self) -> None:
        hub = LocalHub()
        alice, bob = Recorder(uuid4()), Recorder(uuid4())
        for subscriber in (alice, bob):
            await hub.register(subscriber)
        chat = uuid4()
        await hub.deliver(
            [
                delivery(alice.user_id, chat, "1"),
                delivery(bob.user_id, chat, "2"),
                delivery(alice.user_id, chat, "3"),
            ]
        )
        assert alice.offers == [["1", "3"]]
        assert bob.offers == [["2"]]

    async def test_events_read_off_redis_together_reach_a_socket_together(
        self, redis_url: str
    ) -> None:
        redis = Redis.from_url(redis_url)
        hub = RedisHub(redis, prefix=f"chat-test-{uuid4().hex[:8]}:")
        await hub.start()
        try:
            recorder = Recorder(uuid4())
            await hub.register(recorder)
            chat = uuid4()
            texts = [str(n) for n in range(20)]
            await hub.deliver([delivery(recorder.user_id, chat, text) for text in texts])
            async with asyncio.timeout(5):
                while sum(map(len, recorder.offers)) < len(texts):
                    await asyncio.sleep(0.01)
            assert [text for offer in recorder.offers for text in offer] == texts
            assert max(map(len, recorder.offers)) > 1, "one offer an event"
        finally:
            await hub.stop()
            await redis.aclose()

    async def test_the_listener_outlives_a_dispatch_that_failed(self, redis_url: str) -> None:
        redis = Redis.from_url(redis_url)
        hub = RedisHub(redis, prefix=f"chat-test-{uuid4().hex[:8]}:")
        await hub.start()
        try:
            broken, fine = Broken(uuid4()), Recorder(uuid4())
            for subscriber in (broken, fine):
                await hub.register(subscriber)
            chat = uuid4()
            await hub.deliver([delivery(broken.user_id, chat, "fails")])
            await asyncio.sleep(0.2)
            await hub.deliver([delivery(fine.user_id, chat, "arrives")])
            async with asyncio.timeout(5):
                while not fine.offers:
                    await asyncio.sleep(0.01)
            assert fine.offers == [["arrives"]]
        finally:
            await hub.stop()
            await redis.aclose()


class Broken(Recorder):
    def offer_all(self, events: Sequence[Outgoing]) -> None:
        raise RuntimeError("the socket's write failed")


class TestBeforeOpen:
    def test_a_chat_deleted_before_the_socket_opened_is_sent_then_the_close(self) -> None:
        chat = uuid4()
        connection, wire = unopened(chat_id=chat)
        user = connection.user_id
        connection.offer_all([delivery(user, chat, "deleted", event="chat_deleted").outgoing()])
        assert wire.frames == []
        connection.open()
        assert wire.texts() == ["deleted"]
        assert wire.closed == (1000, "chat deleted")
        assert wire.closed_after == 1
