"""The embedded development setup (`make run`): SQLite and no Redis, same behaviour."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from orders_service.__main__ import upgrade
from tests.conftest import SettingsFactory
from tests.support import serve_orders, ws_client


async def test_the_seed_flow_on_sqlite(make_settings: SettingsFactory, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    await asyncio.to_thread(upgrade, url)
    async with (
        serve_orders(make_settings(database_url=url)) as base_url,
        ws_client(base_url) as ws,
        httpx.AsyncClient(base_url=base_url, timeout=15) as client,
    ):
        assert (await ws.request({"action": "create_order", "customer": "Yulia"}))["order"] == {
            "id": 1,
            "customer": "Yulia",
            "status": "created",
        }
        await ws.recv_until("order_created")
        replies = await asyncio.gather(
            *(client.post("/api/v1/orders/1/status", json={"status": "paid"}) for _ in range(5))
        )
        assert sorted(r.status_code for r in replies) == [200, 409, 409, 409, 409]
        order = (await client.get("/api/v1/orders/1")).json()
        assert (order["status"], order["version"]) == ("paid", 2)
        assert order["created_at"].endswith("Z")
        history = (await client.get("/api/v1/orders/1/history")).json()["items"]
        assert [(c["version"], c["status"]) for c in history] == [(1, "created"), (2, "paid")]
