"""The per-socket queue: inbox order and exactly once, catch-up first, the bound."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast
from uuid import UUID, uuid4

from prometheus_client import REGISTRY

from notify_ws_service.fanout.push import Push
from notify_ws_service.ws.connection import Connection, Start
from shared.db import utcnow
from shared.ws.wire import TextFrame


def push(user_id: UUID, position: int, body: str | None = None) -> Push:
    return Push(uuid4(), user_id, "notification", utcnow(), "t", body or str(position), position)


class Inbox:
    """Stands in for the inbox reads of a gap: what is stored, and which gaps were read."""

    def __init__(self, user_id: UUID, positions: range) -> None:
        self.stored = {p: push(user_id, p) for p in positions}
        self.reads: list[tuple[int, int]] = []

    async def between(self, after: int, before: int) -> list[Push]:
        self.reads.append((after, before))
        return [self.stored[p] for p in sorted(self.stored) if after < p < before]


class FakeWire:
    """Records what a connection writes; each frame leaves ``stuck`` bytes unsent."""

    def __init__(self, stuck: int = 0, *, gone: bool = False) -> None:
        self.gone = gone
        self.frames: list[TextFrame] = []
        # How many frames each write carried.
        self.writes: list[int] = []
        self.read = 0
        self.stuck = stuck
        self.unsent = 0
        self.closed: tuple[int, str] | None = None
        # How many frames were written when the close frame was.
        self.closed_after: int | None = None

    def write(self, *frames: TextFrame) -> int | None:
        if self.gone:
            return None
        self.frames.extend(frames)
        self.writes.append(len(frames))
        self.unsent += self.stuck * len(frames)
        return self.unsent

    def close(self, code: int, reason: str, *, timeout: float) -> None:
        self.closed = (code, reason)
        self.closed_after = len(self.frames)


def connection(
    *,
    max_waiting: int = 10,
    max_buffer: int = 1000,
    inbox: Inbox | None = None,
    user_id: UUID | None = None,
    wire: FakeWire | None = None,
) -> Connection:
    user_id = user_id or uuid4()
    fill = (inbox or Inbox(user_id, range(0))).between
    return Connection(
        wire or FakeWire(),
        user_id=user_id,
        version=2,
        max_buffer=max_buffer,
        max_waiting=max_waiting,
        fill=fill,
        fill_limit=100,
        close_timeout=1.0,
    )


def drain(conn: Connection) -> list[Any]:
    """The bodies (or types) of the frames written since the last drain."""
    wire = cast(FakeWire, conn._wire)
    frames = [json.loads(f.payload) for f in wire.frames[wire.read :]]
    wire.read = len(wire.frames)
    return [frame.get("body", frame.get("type")) for frame in frames]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


class TestOrder:
    async def test_a_push_ahead_of_a_gap_waits_for_the_inbox_and_nothing_repeats(self) -> None:
        user = uuid4()
        inbox = Inbox(user, range(1, 4))
        conn = connection(inbox=inbox, user_id=user)
        conn.open(Start(last=1))
        conn.offer(inbox.stored[3])
        assert drain(conn) == []
        await settle()
        conn.offer(inbox.stored[2])  # published late
        conn.offer(inbox.stored[3])  # published again (a redelivered record)
        assert drain(conn) == ["2", "3"]
        assert inbox.reads == [(1, 3)]

    async def test_the_late_push_fills_the_gap_before_the_inbox_answers(self) -> None:
        user = uuid4()
        inbox = Inbox(user, range(1, 4))
        conn = connection(inbox=inbox, user_id=user)
        conn.open(Start(last=1))
        conn.offer(inbox.stored[3])
        conn.offer(inbox.stored[2])
        assert drain(conn) == ["2", "3"]
        await settle()
        assert drain(conn) == []

    async def test_positions_the_inbox_no_longer_holds_are_skipped(self) -> None:
        user = uuid4()
        inbox = Inbox(user, range(1, 6))
        del inbox.stored[2], inbox.stored[3]  # retention deleted them
        conn = connection(inbox=inbox, user_id=user)
        conn.open(Start(last=1))
        conn.offer(inbox.stored[5])
        await settle()
        assert drain(conn) == ["4", "5"]
        conn.offer(push(user, 6))
        assert drain(conn) == ["6"]

    async def test_what_arrives_before_start_waits_and_what_the_client_had_is_dropped(
        self,
    ) -> None:
        conn = connection()
        for position in (6, 4, 5):
            conn.offer(push(conn.user_id, position))
        assert drain(conn) == []
        conn.open(Start(last=4))
        assert drain(conn) == ["5", "6"]

    async def test_without_a_known_start_the_first_push_is_the_start(self) -> None:
        conn = connection()
        conn.open(Start(last=None))
        conn.offer(push(conn.user_id, 7))
        conn.offer(push(conn.user_id, 8))
        conn.offer(push(conn.user_id, 7))
        assert drain(conn) == ["7", "8"]

    async def test_a_failed_inbox_read_closes_with_try_again_later(self) -> None:
        async def broken(after: int, before: int) -> list[Push]:
            raise ConnectionError("database gone")

        conn = connection()
        conn._order._fill = broken
        conn.open(Start(last=0))
        conn.offer(push(conn.user_id, 2))
        await settle()
        assert conn.close_request is not None
        assert conn.close_request.code == 1013


class TestCatchUp:
    async def test_live_pushes_wait_for_the_replay_and_are_not_repeated(self) -> None:
        # since= the notification at position 5: the replay is 6; 5 and 6 come live too.
        conn = connection()
        conn.offer(push(conn.user_id, 5, "again"))
        conn.offer(push(conn.user_id, 6, "again"))
        conn.offer(push(conn.user_id, 7, "live"))
        conn.open(Start(last=6, replay=[push(conn.user_id, 6, "missed")], recovered=True))
        assert drain(conn) == ["missed", "recovered", "live"]


class TestBounds:
    async def test_a_client_that_does_not_read_is_closed_and_sent_nothing_more(self) -> None:
        wire = FakeWire(stuck=400)
        conn = connection(max_buffer=1000, wire=wire)
        conn.open(Start(last=0))
        for n in range(1, 5):
            conn.offer(push(conn.user_id, n))
        assert conn.close_request is not None
        assert conn.close_request.code == 1008
        assert wire.closed == (1008, "send queue full")
        assert len(wire.frames) == 3
        conn.offer(push(conn.user_id, 5))
        assert len(wire.frames) == 3

    async def test_too_many_pushes_waiting_on_a_gap_close_the_socket(self) -> None:
        conn = connection(max_waiting=3)
        conn.open(Start(last=0))
        for n in range(2, 6):
            conn.offer(push(conn.user_id, n))
        assert conn.close_request is not None
        assert conn.close_request.code == 1008

    async def test_a_close_asked_for_before_the_socket_opened_is_sent_when_it_opens(
        self,
    ) -> None:
        wire = FakeWire()
        conn = connection(wire=wire)
        conn.close(1013, "try again later")
        assert wire.closed is None
        conn.open(Start(last=0))
        assert wire.closed == (1013, "try again later")
        conn.offer(push(conn.user_id, 1))
        assert wire.frames == []

    async def test_a_frame_the_closing_socket_did_not_take_is_not_counted_delivered(
        self,
    ) -> None:
        conn = connection(wire=FakeWire(gone=True))
        conn.open(Start(last=0))
        before = delivered()
        conn.offer(push(conn.user_id, 1))
        assert delivered() == before
        assert conn.close_request is None


def delivered() -> float:
    return REGISTRY.get_sample_value("notify_delivered_total") or 0.0


class TestBatches:
    async def test_a_batch_goes_out_in_inbox_order_in_one_write(self) -> None:
        wire = FakeWire()
        conn = connection(wire=wire)
        conn.open(Start(last=0))
        before = delivered()
        conn.offer_all([push(conn.user_id, p) for p in (1, 2, 4, 3, 2)])
        assert drain(conn) == ["1", "2", "3", "4"]
        assert wire.writes == [4]
        assert delivered() == before + 4

    async def test_what_a_batch_sent_before_a_close_goes_out_before_the_close_frame(
        self,
    ) -> None:
        wire = FakeWire()
        conn = connection(max_waiting=1, wire=wire)
        conn.open(Start(last=0))
        conn.offer_all([push(conn.user_id, p) for p in (1, 3, 4, 2)])
        assert drain(conn) == ["1"]
        assert wire.closed == (1008, "send queue full")
        assert wire.closed_after == 1

    async def test_the_buffer_bound_holds_for_a_batch(self) -> None:
        wire = FakeWire(stuck=400)
        conn = connection(max_buffer=1000, wire=wire)
        conn.open(Start(last=0))
        conn.offer_all([push(conn.user_id, p) for p in (1, 2, 3)])
        assert wire.closed == (1008, "send queue full")
        conn.offer_all([push(conn.user_id, 4)])
        assert wire.writes == [3]


class TestFrames:
    async def test_the_seed_frame_is_exactly_title_and_body(self) -> None:
        conn = connection()
        conn.version = 1
        conn.open(Start(last=0))
        conn.offer(push(conn.user_id, 1, "b"))
        [frame] = cast(FakeWire, conn._wire).frames
        assert frame.payload == b'{"title": "t", "body": "b"}'

    def test_a_frame_is_encoded_once_as_an_unmasked_text_frame(self) -> None:
        notification = push(uuid4(), 1, "é" * 100)
        frame = notification.frame(2)
        assert notification.frame(2) is frame
        assert frame.encoded[:4] == bytes([0x81, 126]) + len(frame.payload).to_bytes(2, "big")
        assert frame.encoded[4:] == frame.payload
        assert json.loads(frame.payload)["body"] == "é" * 100
