"""Health, readiness and metrics."""

from __future__ import annotations

import asyncio

import httpx

from shared.devbroker import free_port
from tests.conftest import SettingsFactory
from tests.support import serve_orders, ws_client


async def _ready(client: httpx.AsyncClient) -> httpx.Response:
    for _ in range(150):
        response = await client.get("/readyz")
        if response.status_code == 200:
            return response
        await asyncio.sleep(0.2)
    return response


async def test_ready_once_database_and_broker_answer(orders_url: str) -> None:
    async with httpx.AsyncClient(base_url=orders_url, timeout=15) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        response = await _ready(client)
        assert response.status_code == 200
        assert response.json()["checks"] == {
            "database": "ok",
            "kafka": "ok",
            "ended_sessions": "ok",
        }


async def test_not_ready_without_a_broker_but_still_serving(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    async with (
        serve_orders(settings) as url,
        httpx.AsyncClient(base_url=url, timeout=15) as client,
    ):
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["kafka"].startswith("error")
        # Orders are still taken: their events wait in the outbox.
        created = await client.post("/api/v1/orders", json={"customer": "Yulia"})
        assert created.status_code == 201


async def test_metrics_count_open_sockets(orders_url: str) -> None:
    async with (
        httpx.AsyncClient(base_url=orders_url, timeout=15) as client,
        ws_client(orders_url) as ws,
    ):
        assert await ws.request({"action": "ping"}) == {"type": "pong"}
        metrics = (await client.get("/metrics")).text
        assert 'ws_connections{endpoint="/ws/orders"}' in metrics
