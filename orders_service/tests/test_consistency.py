"""REST, WebSocket broadcasts and orders.events agree on every change, even when the
broker is down at the time of the change."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx

from shared.testing.proxy import broker_behind_proxy
from tests.conftest import SettingsFactory
from tests.support import EventReader, outbox_events, serve_orders, ws_client


async def _outbox_types(database_url: str) -> list[str]:
    return [envelope["type"] for _, envelope in await outbox_events(database_url)]


def _assert_envelope(envelope: dict[str, Any], key: bytes | None, **data: Any) -> None:
    assert key == str(data["order_id"]).encode()
    UUID(envelope["event_id"])
    assert envelope["actor_id"] is None
    assert envelope["occurred_at"]
    assert envelope["data"] == data


class TestAllChannelsAgree:
    async def test_create_then_change_reach_socket_and_kafka(
        self, make_settings: SettingsFactory, kafka_bootstrap: str
    ) -> None:
        topic = f"orders.events.{uuid4().hex[:10]}"
        settings = make_settings(events_topic=topic)
        async with (
            EventReader(kafka_bootstrap, topic) as kafka,
            serve_orders(settings) as url,
            httpx.AsyncClient(base_url=url, timeout=15) as client,
            ws_client(url) as ws,
        ):
            created = (await client.post("/api/v1/orders", json={"customer": "Yulia"})).json()
            assert await ws.recv() == {
                "type": "order_created",
                "order_id": created["id"],
                "customer": "Yulia",
                "status": "created",
            }
            envelope, key = await kafka.wait_for("order.created", created["id"])
            _assert_envelope(
                envelope,
                key,
                order_id=created["id"],
                customer="Yulia",
                status="created",
                previous_status=None,
                owner_id=None,
            )

            paid = await client.post(
                f"/api/v1/orders/{created['id']}/status", json={"status": "paid"}
            )
            assert paid.json()["status"] == "paid"
            assert await ws.recv() == {
                "type": "order_status_changed",
                "order_id": created["id"],
                "customer": "Yulia",
                "status": "paid",
            }
            envelope, key = await kafka.wait_for("order.status_changed", created["id"])
            _assert_envelope(
                envelope,
                key,
                order_id=created["id"],
                customer="Yulia",
                status="paid",
                previous_status="created",
                owner_id=None,
            )

    async def test_a_refused_change_leaves_no_event(
        self, make_settings: SettingsFactory, kafka_bootstrap: str, database_url: str
    ) -> None:
        topic = f"orders.events.{uuid4().hex[:10]}"
        async with (
            serve_orders(make_settings(events_topic=topic)) as url,
            ws_client(url) as ws,
        ):
            await ws.request({"action": "create_order", "customer": "Yulia"})
            await ws.recv_until("order_created")
            refused = await ws.request(
                {"action": "change_status", "order_id": 1, "status": "shipped"}
            )
            assert refused["type"] == "error"
            assert "order.status_changed" not in await _outbox_types(database_url)

    async def test_a_change_during_a_broker_outage_arrives_after_it(
        self, make_settings: SettingsFactory, database_url: str
    ) -> None:
        topic = f"orders.events.{uuid4().hex[:10]}"
        async with broker_behind_proxy() as proxy:
            settings = make_settings(events_topic=topic, kafka_bootstrap_servers=proxy.address)
            async with (
                serve_orders(settings) as url,
                httpx.AsyncClient(base_url=url, timeout=15) as client,
                ws_client(url) as ws,
            ):
                async with EventReader(proxy.address, topic) as kafka:
                    await client.post("/api/v1/orders", json={"customer": "Yulia"})
                    await kafka.wait_for("order.created", 1)
                await ws.recv_until("order_created")

                proxy.cut()
                response = await client.post("/api/v1/orders/1/status", json={"status": "paid"})
                # The change itself does not wait for Kafka; sockets hear of it at once.
                assert response.status_code == 200
                assert (await ws.recv())["status"] == "paid"
                # The event waits in the outbox, committed with the change.
                assert await _outbox_types(database_url) == ["order.status_changed"]

                proxy.restore()
                async with EventReader(proxy.address, topic) as kafka:
                    envelope, key = await kafka.wait_for("order.status_changed", 1)
                    _assert_envelope(
                        envelope,
                        key,
                        order_id=1,
                        customer="Yulia",
                        status="paid",
                        previous_status="created",
                        owner_id=None,
                    )
                    changes = [e for e, _ in kafka.seen if e["type"] == "order.status_changed"]
                    assert len(changes) == 1
