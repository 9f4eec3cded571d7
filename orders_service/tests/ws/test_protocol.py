"""Beyond the seed: validation errors in the seed's shape, list_orders, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import SettingsFactory
from tests.support import serve_orders, ws_client


async def _create(ws: Any, customer: str = "Yulia") -> dict[str, Any]:
    reply: dict[str, Any] = await ws.request({"action": "create_order", "customer": customer})
    await ws.recv_until("order_created")
    return reply


async def _flood(ws: Any, frames: list[dict[str, Any]]) -> None:
    """Send far over the rate, then read until the server closes."""
    for _ in range(50):
        await ws.send({"action": "ping"})
    while True:
        frames.append(await ws.recv())


class TestValidation:
    @pytest.mark.parametrize(
        ("frame", "field"),
        [
            ({"action": "create_order"}, "customer"),
            ({"action": "create_order", "customer": ""}, "customer"),
            ({"action": "create_order", "customer": "   "}, "customer"),
            ({"action": "create_order", "customer": "x" * 201}, "customer"),
            ({"action": "create_order", "customer": 42}, "customer"),
            # PostgreSQL text cannot hold NUL; this was an internal error.
            ({"action": "create_order", "customer": "Yu\x00lia"}, "customer"),
        ],
    )
    async def test_bad_customer(self, orders_url: str, frame: dict[str, Any], field: str) -> None:
        async with ws_client(orders_url) as ws:
            reply = await ws.request(frame)
            assert reply["type"] == "error"
            assert reply["action"] == "create_order"
            assert reply["error"] == "validation_error"
            assert reply["detail"].startswith(f"{field}: ")
            # Nothing was created, and the socket still works.
            assert (await ws.request({"action": "get_order", "order_id": 1}))["error"] == (
                "order not found"
            )

    async def test_customer_is_stripped(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            reply = await ws.request({"action": "create_order", "customer": "  Yulia \n"})
            assert reply["order"] == {"id": 1, "customer": "Yulia", "status": "created"}

    @pytest.mark.parametrize("order_id", ["1", 1.5, True, None, 0, -3, 2**40, [1]])
    @pytest.mark.parametrize("action", ["get_order", "change_status"])
    async def test_order_id_must_be_a_positive_integer(
        self, orders_url: str, action: str, order_id: Any
    ) -> None:
        async with ws_client(orders_url) as ws:
            await _create(ws)
            reply = await ws.request({"action": action, "order_id": order_id, "status": "paid"})
            assert reply["type"] == "error"
            assert reply["action"] == action
            assert reply["error"] == "validation_error"
            assert "order_id" in reply["detail"]
            assert (await ws.request({"action": "get_order", "order_id": 1}))["order"][
                "status"
            ] == "created"

    @pytest.mark.parametrize("status", ["refunded", "PAID", "", None, 1])
    async def test_unknown_status(self, orders_url: str, status: Any) -> None:
        async with ws_client(orders_url) as ws:
            await _create(ws)
            reply = await ws.request({"action": "change_status", "order_id": 1, "status": status})
            assert reply["error"] == "validation_error"
            assert reply["detail"].startswith("status: ")

    @pytest.mark.parametrize("raw", ["[]", '"ping"', "1", "null", '[{"action": "ping"}]'])
    async def test_frames_that_are_not_objects(self, orders_url: str, raw: str) -> None:
        async with ws_client(orders_url) as ws:
            reply = await ws.request(raw)
            assert reply["type"] == "error"
            assert reply["error"] == "invalid_message"
            assert await ws.request({"action": "ping"}) == {"type": "pong"}

    @pytest.mark.parametrize("action", [None, 7, {"x": 1}])
    async def test_missing_or_odd_action(self, orders_url: str, action: Any) -> None:
        frame = {} if action is None else {"action": action}
        async with ws_client(orders_url) as ws:
            assert await ws.request(frame) == {
                "type": "error",
                "error": "unknown_action",
                "raw_action": action,
            }

    async def test_a_binary_frame_is_refused_and_the_socket_stays(self, orders_url: str) -> None:
        text_only = {"type": "error", "error": "text_only", "detail": "send JSON as text frames"}
        async with ws_client(orders_url) as ws:
            for frame in (b'{"action": "create_order", "customer": "Bytes"}', b"\xff\xfe"):
                await ws.connection.send(frame)
                assert await ws.recv() == text_only
            assert await ws.request({"action": "ping"}) == {"type": "pong"}
            listed = await ws.request({"action": "list_orders"})
            assert listed["orders"] == []

    async def test_json_nested_past_the_parsers_limit_is_invalid_json(
        self, orders_url: str
    ) -> None:
        async with ws_client(orders_url) as ws:
            reply = await ws.request("[" * 20_000 + "]" * 20_000)
            assert reply == {"type": "error", "error": "invalid_json"}
            assert await ws.request({"action": "ping"}) == {"type": "pong"}


class TestTransitionsOverTheSocket:
    async def test_unknown_order(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            assert await ws.request(
                {"action": "change_status", "order_id": 9, "status": "paid"}
            ) == {"type": "error", "action": "change_status", "error": "order not found"}

    async def test_created_to_shipped_is_refused(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            await _create(ws)
            reply = await ws.request(
                {"action": "change_status", "order_id": 1, "status": "shipped"}
            )
            assert reply == {
                "type": "error",
                "action": "change_status",
                "error": "Cannot change status from 'created' to 'shipped'",
            }


class TestListOrders:
    async def test_pages_and_filters(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            for name in ("A", "B", "C"):
                await _create(ws, name)
            await ws.request({"action": "change_status", "order_id": 2, "status": "paid"})
            await ws.recv_until("order_status_changed")
            assert await ws.request({"action": "list_orders", "limit": 2}) == {
                "type": "result",
                "action": "list_orders",
                "orders": [
                    {"id": 1, "customer": "A", "status": "created"},
                    {"id": 2, "customer": "B", "status": "paid"},
                ],
                "total": 3,
                "limit": 2,
                "offset": 0,
            }
            page = await ws.request({"action": "list_orders", "limit": 2, "offset": 2})
            assert page["orders"] == [{"id": 3, "customer": "C", "status": "created"}]
            paid = await ws.request({"action": "list_orders", "status": "paid"})
            assert paid["orders"] == [{"id": 2, "customer": "B", "status": "paid"}]
            assert paid["total"] == 1

    async def test_bad_paging(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            reply = await ws.request({"action": "list_orders", "limit": 1000})
            assert reply["error"] == "validation_error"
            assert reply["detail"].startswith("limit: ")
            # Past what PostgreSQL's OFFSET takes: refused, not an internal error.
            reply = await ws.request({"action": "list_orders", "offset": 2**81})
            assert reply["error"] == "validation_error"
            assert reply["detail"].startswith("offset: ")


class TestRequestId:
    async def test_echoed_on_results_and_errors(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            reply = await ws.request({"action": "get_order", "order_id": 5, "request_id": "r1"})
            assert reply == {
                "type": "error",
                "action": "get_order",
                "error": "order not found",
                "request_id": "r1",
            }
            reply = await ws.request({"action": "ping", "request_id": 7})
            assert reply == {"type": "pong", "request_id": 7}


class TestLimits:
    async def test_flooding_gets_an_error_then_4429(self, make_settings: SettingsFactory) -> None:
        settings = make_settings(frames_per_second=1, frame_burst=2, flood_tolerance=5)
        async with serve_orders(settings) as url, ws_client(url) as ws:
            frames: list[dict[str, Any]] = []
            with pytest.raises(ConnectionClosed) as closed:
                await _flood(ws, frames)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4429
            assert frames[0] == {"type": "pong"}
            refused = [f for f in frames if f["type"] == "error"]
            assert refused[0] == {
                "type": "error",
                "error": "rate_limited",
                "detail": "too many frames: slow down",
            }

    async def test_a_frame_over_64_kib_closes_1009(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            big = json.dumps({"action": "create_order", "customer": "x" * 70_000})
            with pytest.raises(ConnectionClosed) as closed:
                await ws.request(big)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1009

    async def test_a_large_frame_under_the_cap_is_answered(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            reply = await ws.request({"action": "ping", "padding": "x" * 60_000})
            assert reply == {"type": "pong"}
