"""The per-socket queue: order during catch-up, dedupe, the bound."""

from __future__ import annotations

import json
from typing import Any, cast
from uuid import UUID, uuid4

from starlette.websockets import WebSocket

from notify_ws_service.fanout.push import Push
from notify_ws_service.ws.connection import Connection
from shared.db import utcnow


def push(user_id: UUID, body: str, seq: int | None = None) -> Push:
    return Push(uuid4(), user_id, "notification", utcnow(), "t", body, seq)


def connection(queue_size: int = 10) -> Connection:
    return Connection(
        cast(WebSocket, object()),
        user_id=uuid4(),
        version=2,
        queue_size=queue_size,
        dedupe_window=16,
    )


def drain(conn: Connection) -> list[Any]:
    frames = []
    while conn.queued:
        frames.append(json.loads(conn._queue.get_nowait()))
    return frames


class TestConnection:
    def test_live_pushes_wait_for_the_catch_up_and_are_not_repeated(self) -> None:
        conn = connection()
        missed, live = push(conn.user_id, "missed"), push(conn.user_id, "live")
        conn.begin_recovery()
        conn.offer(missed)  # published while the catch-up query ran
        conn.offer(live)
        conn.end_recovery([missed], complete=True)
        frames = drain(conn)
        assert [f.get("body", f.get("type")) for f in frames] == ["missed", "recovered", "live"]

    def test_a_resumed_socket_drops_what_the_client_already_had(self) -> None:
        # since= the notification at inbox place 5: 4 and 5 were received before the
        # drop; a redelivered record pushes them again and they must not reach the client.
        conn = connection()
        conn.begin_recovery()
        conn.offer(push(conn.user_id, "again", seq=4))
        conn.end_recovery([push(conn.user_id, "missed", seq=6)], complete=True, after=5)
        conn.offer(push(conn.user_id, "again", seq=5))
        conn.offer(push(conn.user_id, "live", seq=7))
        frames = drain(conn)
        assert [f.get("body", f.get("type")) for f in frames] == ["missed", "recovered", "live"]

    def test_a_full_queue_closes_the_socket_and_frees_the_frames(self) -> None:
        conn = connection(queue_size=3)
        for n in range(4):
            conn.offer(push(conn.user_id, str(n)))
        assert conn.closing.is_set()
        assert conn.close_request is not None
        assert conn.close_request.code == 1008
        assert conn.queued == 0
        conn.offer(push(conn.user_id, "after"))
        assert conn.queued == 0

    def test_the_seed_frame_is_exactly_title_and_body(self) -> None:
        conn = connection()
        conn.version = 1
        conn.offer(push(conn.user_id, "b"))
        assert conn._queue.get_nowait() == '{"title": "t", "body": "b"}'
