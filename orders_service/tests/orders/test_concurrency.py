"""Many clients changing one order at once: one winner per step, no lost update."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.devbroker import free_port
from tests.conftest import SettingsFactory
from tests.support import outbox_events, serve_orders, ws_client

CLIENTS = 20


@pytest.fixture
async def client(orders_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=orders_url, timeout=30, limits=limits) as client:
        yield client


async def _status_events(database_url: str) -> list[dict[str, Any]]:
    events = [envelope for _, envelope in await outbox_events(database_url)]
    return [e["data"] for e in events if e["type"] == "order.status_changed"]


async def _race(client: httpx.AsyncClient, targets: list[str]) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(client.post("/api/v1/orders/1/status", json={"status": t}) for t in targets)
        )
    )


class TestConcurrentChanges:
    async def test_twenty_pays_one_winner(self, client: httpx.AsyncClient) -> None:
        await client.post("/api/v1/orders", json={"customer": "Yulia"})
        responses = await _race(client, ["paid"] * CLIENTS)
        assert sorted(r.status_code for r in responses) == [200] + [409] * (CLIENTS - 1)
        for response in responses:
            if response.status_code == 409:
                assert response.json()["detail"] == "Cannot change status from 'paid' to 'paid'"
        order = (await client.get("/api/v1/orders/1")).json()
        assert (order["status"], order["version"]) == ("paid", 2)

    async def test_ship_or_cancel_of_a_paid_order_one_winner(
        self, client: httpx.AsyncClient
    ) -> None:
        # shipped and cancelled exclude each other in any order: exactly one may win.
        await client.post("/api/v1/orders", json={"customer": "Yulia"})
        await client.post("/api/v1/orders/1/status", json={"status": "paid"})
        responses = await _race(client, ["shipped", "cancelled"] * (CLIENTS // 2))
        winners = [r for r in responses if r.status_code == 200]
        assert len(winners) == 1
        final = winners[0].json()["status"]
        for response in responses:
            if response.status_code != 200:
                assert response.status_code == 409
                target = response.request.content.decode()
                assert response.json()["detail"].startswith(f"Cannot change status from '{final}'")
                assert json.loads(target)["status"] in response.json()["detail"]
        assert (await client.get("/api/v1/orders/1")).json()["version"] == 3

    async def test_pay_or_cancel_one_winner_per_step_and_no_lost_update(
        self, make_settings: SettingsFactory, database_url: str
    ) -> None:
        # From created, "paid" then "cancelled" is a legal sequence, so at most two steps
        # are taken; each step has exactly one winner and the history is one chain.
        # No broker: the outbox keeps every event for the test to read.
        settings = make_settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
        async with (
            serve_orders(settings) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
            ws_client(url) as ws,
        ):
            await client.post("/api/v1/orders", json={"customer": "Yulia"})
            await ws.recv_until("order_created")
            responses = await _race(client, ["paid", "cancelled"] * (CLIENTS // 2))
            winners = [r.json() for r in responses if r.status_code == 200]
            assert all(r.status_code in (200, 409) for r in responses)
            assert 1 <= len(winners) <= 2
            steps = await _status_events(database_url)
            assert len(steps) == len(winners)
            previous = "created"
            for step in steps:
                assert step["previous_status"] == previous
                previous = str(step["status"])
            final = (await client.get("/api/v1/orders/1")).json()
            assert final["status"] == previous
            assert final["version"] == 1 + len(winners)
            history = (await client.get("/api/v1/orders/1/history")).json()["items"]
            assert [c["status"] for c in history] == ["created", *(s["status"] for s in steps)]
            # Sockets saw exactly the winning steps, in order.
            seen = [(await ws.recv_until("order_status_changed"))["status"] for _ in winners]
            assert seen == [step["status"] for step in steps]
