"""Broadcasts cross instances through Redis, and reach only those allowed to see them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from uuid import uuid4

import httpx
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from orders_service.broadcast.bus import RedisBus
from orders_service.broadcast.hub import Hub
from orders_service.broadcast.messages import OrderBroadcast
from shared.auth.tokens import TokenClaims
from shared.testing.proxy import tcp_proxy
from tests.conftest import SettingsFactory
from tests.support import serve_orders, ws_client


def _claims(*, superuser: bool = False) -> TokenClaims:
    return TokenClaims(
        user_id=uuid4(),
        email="someone@example.com",
        display_name="Someone",
        is_superuser=superuser,
        session_id=uuid4(),
        token_id=uuid4(),
        exp=int(time.time()) + 600,
    )


class TestScope:
    def test_anonymous_orders_reach_everyone(self) -> None:
        message = OrderBroadcast(type="order_created", order_id=1, customer="A", status="created")
        assert message.visible_to(None)
        assert message.visible_to(_claims())

    def test_owned_orders_reach_only_the_owner_and_superusers(self) -> None:
        owner, stranger, admin = _claims(), _claims(), _claims(superuser=True)
        message = OrderBroadcast(
            type="order_created",
            order_id=1,
            customer="A",
            status="created",
            owner_id=owner.user_id,
        )
        assert message.visible_to(owner)
        assert message.visible_to(admin)
        assert not message.visible_to(stranger)
        assert not message.visible_to(None)

    def test_the_frame_is_the_seeds_without_the_owner(self) -> None:
        message = OrderBroadcast(
            type="order_status_changed",
            order_id=3,
            customer="A",
            status="paid",
            owner_id=uuid4(),
        )
        assert message.frame() == {
            "type": "order_status_changed",
            "order_id": 3,
            "customer": "A",
            "status": "paid",
        }


class TestAcrossInstances:
    async def test_a_change_on_one_instance_reaches_sockets_on_another(
        self, make_settings: SettingsFactory, redis_url: str
    ) -> None:
        settings = make_settings(redis_url=redis_url, redis_channel=f"orders-{uuid4().hex}")
        async with (
            serve_orders(settings) as first,
            serve_orders(settings) as second,
            ws_client(first) as on_first,
            ws_client(second) as on_second,
            httpx.AsyncClient(base_url=first, timeout=15) as client,
        ):
            ready = await client.get("/readyz")
            assert ready.json()["checks"]["redis"] == "ok"
            await client.post("/api/v1/orders", json={"customer": "Yulia"})
            expected = {
                "type": "order_created",
                "order_id": 1,
                "customer": "Yulia",
                "status": "created",
            }
            assert await on_first.recv() == expected
            assert await on_second.recv() == expected
            # The socket on the other instance reads the same order.
            reply = await on_second.request(
                {"action": "change_status", "order_id": 1, "status": "paid"}
            )
            assert reply["order"]["status"] == "paid"
            assert (await on_first.recv())["status"] == "paid"


class _Recorder:
    user: TokenClaims | None = None

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def offer_text(self, text: str) -> None:
        self.frames.append(json.loads(text))


class _CountingBus(RedisBus):
    """A RedisBus that remembers how many messages each send carried."""

    batches: list[int]

    async def _send(self, messages: list[OrderBroadcast]) -> None:
        self.batches.append(len(messages))
        await super()._send(messages)


class TestPump:
    async def test_what_queued_up_goes_out_in_one_round_trip(self, redis_url: str) -> None:
        # One publish per round trip let broadcasts fall seconds behind under load.
        hub, recorder = Hub(), _Recorder()
        hub.add(recorder)
        redis = Redis.from_url(redis_url)
        bus = _CountingBus(hub, redis, f"orders-{uuid4().hex}")
        bus.batches = []
        for n in range(1, 101):
            bus.publish(
                OrderBroadcast(type="order_created", order_id=n, customer="A", status="created")
            )
        await bus.start()
        try:
            for _ in range(100):
                if len(recorder.frames) == 100:
                    break
                await asyncio.sleep(0.1)
        finally:
            await bus.stop()
            await redis.aclose()
        assert bus.batches == [100]
        assert [f["order_id"] for f in recorder.frames] == list(range(1, 101))


class TestRedisOutage:
    async def test_orders_go_on_and_broadcasts_resume_after_it(
        self, make_settings: SettingsFactory, redis_url: str
    ) -> None:
        target = make_url(redis_url)
        async with tcp_proxy(f"{target.host}:{target.port or 6379}") as proxy:
            proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
            settings = make_settings(redis_url=proxied, redis_channel=f"orders-{uuid4().hex}")
            async with (
                serve_orders(settings) as url,
                ws_client(url) as ws,
                httpx.AsyncClient(base_url=url, timeout=15) as client,
            ):
                await client.post("/api/v1/orders", json={"customer": "before"})
                assert (await ws.recv())["customer"] == "before"

                proxy.cut()
                # Taking orders does not depend on Redis; the broadcast is best effort.
                created = await client.post("/api/v1/orders", json={"customer": "during"})
                assert created.status_code == 201
                assert (await client.get("/readyz")).json()["checks"]["redis"].startswith("error")

                proxy.restore()
                # The listener resubscribes; keep changing until a broadcast comes through.
                frame: dict[str, object] = {}
                for n in range(60):
                    await client.post("/api/v1/orders", json={"customer": f"after {n}"})
                    try:
                        frame = await ws.recv(timeout=1)
                    except TimeoutError:
                        continue
                    break
                assert str(frame.get("customer", "")).startswith(("after", "during"))
