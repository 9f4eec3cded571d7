"""Every example of seed 003, frame for frame."""

from __future__ import annotations

from tests.support import ws_client

YULIA = {"id": 1, "customer": "Yulia", "status": "created"}


class TestPing:
    async def test_pong(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            assert await ws.request({"action": "ping"}) == {"type": "pong"}


class TestCreateOrder:
    async def test_result_then_broadcast_to_every_client(self, orders_url: str) -> None:
        async with ws_client(orders_url) as creator, ws_client(orders_url) as other:
            assert await creator.request({"action": "create_order", "customer": "Yulia"}) == {
                "type": "result",
                "action": "create_order",
                "order": YULIA,
            }
            broadcast = {
                "type": "order_created",
                "order_id": 1,
                "customer": "Yulia",
                "status": "created",
            }
            assert await creator.recv() == broadcast
            assert await other.recv() == broadcast


class TestChangeStatus:
    async def test_pay_result_and_broadcast(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws, ws_client(orders_url) as other:
            await ws.request({"action": "create_order", "customer": "Yulia"})
            await ws.recv_until("order_created")
            await other.recv_until("order_created")
            assert await ws.request(
                {"action": "change_status", "order_id": 1, "status": "paid"}
            ) == {
                "type": "result",
                "action": "change_status",
                "order": {"id": 1, "customer": "Yulia", "status": "paid"},
            }
            broadcast = {
                "type": "order_status_changed",
                "order_id": 1,
                "customer": "Yulia",
                "status": "paid",
            }
            assert await ws.recv() == broadcast
            assert await other.recv() == broadcast

    async def test_delivered_to_paid_is_refused_with_the_seeds_text(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            await ws.request({"action": "create_order", "customer": "Yulia"})
            for status in ("paid", "shipped", "delivered"):
                reply = await ws.request(
                    {"action": "change_status", "order_id": 1, "status": status}
                )
                while reply["type"] != "result":
                    reply = await ws.recv()
            await ws.recv_until("order_status_changed")  # the broadcast of "delivered"
            assert await ws.request(
                {"action": "change_status", "order_id": 1, "status": "paid"}
            ) == {
                "type": "error",
                "action": "change_status",
                "error": "Cannot change status from 'delivered' to 'paid'",
            }
            assert await ws.request({"action": "get_order", "order_id": 1}) == {
                "type": "result",
                "action": "get_order",
                "order": {"id": 1, "customer": "Yulia", "status": "delivered"},
            }


class TestGetOrder:
    async def test_found(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            await ws.request({"action": "create_order", "customer": "Yulia"})
            await ws.recv_until("order_created")
            await ws.request({"action": "change_status", "order_id": 1, "status": "paid"})
            await ws.recv_until("order_status_changed")
            assert await ws.request({"action": "get_order", "order_id": 1}) == {
                "type": "result",
                "action": "get_order",
                "order": {"id": 1, "customer": "Yulia", "status": "paid"},
            }

    async def test_not_found(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            assert await ws.request({"action": "get_order", "order_id": 1}) == {
                "type": "error",
                "action": "get_order",
                "error": "order not found",
            }


class TestFormatErrors:
    async def test_invalid_json(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            assert await ws.request("{wrong-json}") == {"type": "error", "error": "invalid_json"}
            assert await ws.request({"action": "ping"}) == {"type": "pong"}

    async def test_unknown_action(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            assert await ws.request({"action": "foo_bar"}) == {
                "type": "error",
                "error": "unknown_action",
                "raw_action": "foo_bar",
            }
            assert await ws.request({"action": "ping"}) == {"type": "pong"}
