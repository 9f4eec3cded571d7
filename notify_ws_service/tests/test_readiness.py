"""/readyz reports every dependency the gateway needs before it takes sockets (this one
runs without Redis)."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import Served


async def test_ready_once_everything_answers(gateway: Served) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        async with asyncio.timeout(30):
            while (ready := await client.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.2)
    assert ready.json()["checks"] == {
        "database": "ok",
        "kafka": "ok",
        "consumer": "ok",
        "ended_sessions": "ok",
    }
