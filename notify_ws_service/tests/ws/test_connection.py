"""The per-socket queue: inbox order and exactly once, catch-up first, the bound."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast
from uuid import UUID, uuid4

from starlette.websockets import WebSocket

from notify_ws_service.fanout.push import Push
from notify_ws_service.ws.connection import Connection
from shared.db import utcnow


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


def connection(
    queue_size: int = 10, inbox: Inbox | None = None, user_id: UUID | None = None
) -> Connection:
    user_id = user_id or uuid4()
    fill = (inbox or Inbox(user_id, range(0))).between
    return Connection(
        cast(WebSocket, object()),
        user_id=user_id,
        version=2,
        queue_size=queue_size,
        fill=fill,
        fill_limit=100,
    )


def drain(conn: Connection) -> list[Any]:
    frames = []
    while conn.queued:
        frame = json.loads(conn._queue.get_nowait())
        frames.append(frame.get("body", frame.get("type")))
    return frames


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


class TestOrder:
    async def test_a_push_ahead_of_a_gap_waits_for_the_inbox_and_nothing_repeats(self) -> None:
        user = uuid4()
        inbox = Inbox(user, range(1, 4))
        conn = connection(inbox=inbox, user_id=user)
        conn.start(last=1)
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
        conn.start(last=1)
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
        conn.start(last=1)
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
        conn.start(last=4)
        assert drain(conn) == ["5", "6"]

    async def test_without_a_known_start_the_first_push_is_the_start(self) -> None:
        conn = connection()
        conn.start(last=None)
        conn.offer(push(conn.user_id, 7))
        conn.offer(push(conn.user_id, 8))
        conn.offer(push(conn.user_id, 7))
        assert drain(conn) == ["7", "8"]

    async def test_a_failed_inbox_read_closes_with_try_again_later(self) -> None:
        async def broken(after: int, before: int) -> list[Push]:
            raise ConnectionError("database gone")

        conn = connection()
        conn._order._fill = broken
        conn.start(last=0)
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
        conn.start(last=6, replay=[push(conn.user_id, 6, "missed")], recovered=True)
        assert drain(conn) == ["missed", "recovered", "live"]


class TestBounds:
    async def test_a_full_queue_closes_the_socket_and_frees_the_frames(self) -> None:
        conn = connection(queue_size=3)
        conn.start(last=0)
        for n in range(1, 5):
            conn.offer(push(conn.user_id, n))
        assert conn.closing.is_set()
        assert conn.close_request is not None
        assert conn.close_request.code == 1008
        assert conn.queued == 0
        conn.offer(push(conn.user_id, 5))
        assert conn.queued == 0

    async def test_too_many_pushes_waiting_on_a_gap_close_the_socket(self) -> None:
        conn = connection(queue_size=3)
        conn.start(last=0)
        for n in range(2, 6):
            conn.offer(push(conn.user_id, n))
        assert conn.close_request is not None
        assert conn.close_request.code == 1008

    async def test_the_seed_frame_is_exactly_title_and_body(self) -> None:
        conn = connection()
        conn.version = 1
        conn.start(last=0)
        conn.offer(push(conn.user_id, 1, "b"))
        assert conn._queue.get_nowait() == '{"title": "t", "body": "b"}'
