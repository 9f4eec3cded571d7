"""Local delivery: a long fan-out gives the event loop back between pushes."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from notify_ws_service.ws.connection import Start
from notify_ws_service.ws.registry import Registry

from .test_connection import connection, drain, push


async def deliver_three(slice_seconds: float) -> tuple[list[object], list[object]]:
    """What a task started before the delivery saw written, and what came after it."""
    registry = Registry(max_connections=10)
    user = uuid4()
    conn = connection(user_id=user)
    conn.open(Start(last=0))
    registry.add(conn)
    seen: list[object] = []

    async def other() -> None:
        seen.extend(drain(conn))

    task = asyncio.create_task(other())
    await registry.deliver_all([push(user, p) for p in (1, 2, 3)], slice_seconds=slice_seconds)
    await task
    return seen, drain(conn)


class TestDeliverAll:
    async def test_other_tasks_run_between_pushes_once_a_slice_has_passed(self) -> None:
        assert await deliver_three(slice_seconds=0) == (["1"], ["2", "3"])

    async def test_within_a_slice_the_batch_goes_out_in_one_go(self) -> None:
        assert await deliver_three(slice_seconds=60) == (["1", "2", "3"], [])
