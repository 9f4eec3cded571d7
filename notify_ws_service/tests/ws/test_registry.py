"""Local delivery: a socket's share of a batch in one go, the event loop given back
between sockets once a slice has passed."""

from __future__ import annotations

import asyncio
from typing import cast
from uuid import uuid4

from notify_ws_service.ws.connection import Start
from notify_ws_service.ws.registry import Registry

from .test_connection import FakeWire, connection, drain, push


async def deliver_to_two(slice_seconds: float) -> tuple[list[object], list[object]]:
    """What a task started before the delivery saw written to a user's two sockets, and
    what came after it."""
    registry = Registry(max_connections=10)
    user = uuid4()
    sockets = [connection(user_id=user) for _ in range(2)]
    for conn in sockets:
        conn.open(Start(last=0))
        registry.add(conn)
    seen: list[object] = []

    async def other() -> None:
        seen.extend(frame for conn in sockets for frame in drain(conn))

    task = asyncio.create_task(other())
    await registry.deliver_all([push(user, p) for p in (1, 2)], slice_seconds=slice_seconds)
    await task
    return seen, [frame for conn in sockets for frame in drain(conn)]


class TestDeliverAll:
    async def test_other_tasks_run_between_sockets_once_a_slice_has_passed(self) -> None:
        assert await deliver_to_two(slice_seconds=0) == (["1", "2"], ["1", "2"])

    async def test_within_a_slice_the_batch_goes_out_in_one_go(self) -> None:
        assert await deliver_to_two(slice_seconds=60) == (["1", "2", "1", "2"], [])

    async def test_each_socket_gets_its_users_pushes_in_one_write(self) -> None:
        registry = Registry(max_connections=10)
        users = [uuid4(), uuid4()]
        sockets = [connection(user_id=user) for user in users]
        for conn in sockets:
            conn.open(Start(last=0))
            registry.add(conn)
        pushes = [push(users[n % 2], 1 + n // 2) for n in range(6)]
        await registry.deliver_all(pushes)
        assert [drain(conn) for conn in sockets] == [["1", "2", "3"], ["1", "2", "3"]]
        assert [cast(FakeWire, conn._wire).writes for conn in sockets] == [[3], [3]]
