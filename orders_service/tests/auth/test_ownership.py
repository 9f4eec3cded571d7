"""With a token the order is the caller's: only they (and superusers) see it, change it
and hear of it. Without one, the seed's open flow is unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from shared.devbroker import free_port
from shared.testing.auth_service import AuthUser, register_and_login
from tests.conftest import SettingsFactory
from tests.support import outbox_events, serve_orders, ws_client


@pytest.fixture
async def orders_with_auth(
    make_settings: SettingsFactory, auth_service_url: str
) -> AsyncIterator[str]:
    # No broker: the outbox keeps the events for the tests to read.
    settings = make_settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    async with serve_orders(settings) as url:
        yield url


@pytest.fixture
async def alice(auth_service_url: str) -> AuthUser:
    return await register_and_login(auth_service_url, display_name="Alice")


@pytest.fixture
async def bob(auth_service_url: str) -> AuthUser:
    return await register_and_login(auth_service_url, display_name="Bob")


@pytest.fixture
async def client(orders_with_auth: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=orders_with_auth, timeout=15) as client:
        yield client


class TestRestOwnership:
    async def test_the_order_belongs_to_the_caller(
        self, client: httpx.AsyncClient, alice: AuthUser
    ) -> None:
        response = await client.post(
            "/api/v1/orders", json={"customer": "Yulia"}, headers=alice.headers
        )
        assert response.status_code == 201
        assert response.json()["owner_id"] == str(alice.id)
        assert (await client.get("/api/v1/orders/1", headers=alice.headers)).status_code == 200

    async def test_others_get_404_and_cannot_change_it(
        self, client: httpx.AsyncClient, alice: AuthUser, bob: AuthUser
    ) -> None:
        await client.post("/api/v1/orders", json={"customer": "Yulia"}, headers=alice.headers)
        for headers in (bob.headers, {}):
            response = await client.get("/api/v1/orders/1", headers=headers)
            assert response.status_code == 404
            assert response.json() == {"error": "OrderNotFound", "detail": "order not found"}
            changed = await client.post(
                "/api/v1/orders/1/status", json={"status": "paid"}, headers=headers
            )
            assert changed.status_code == 404
        order = (await client.get("/api/v1/orders/1", headers=alice.headers)).json()
        assert (order["status"], order["version"]) == ("created", 1)
        paid = await client.post(
            "/api/v1/orders/1/status", json={"status": "paid"}, headers=alice.headers
        )
        assert paid.json()["status"] == "paid"
        for headers in (bob.headers, {}):
            hidden = await client.get("/api/v1/orders/1/history", headers=headers)
            assert hidden.status_code == 404
        history = await client.get("/api/v1/orders/1/history", headers=alice.headers)
        assert [(c["status"], c["actor_id"]) for c in history.json()["items"]] == [
            ("created", str(alice.id)),
            ("paid", str(alice.id)),
        ]

    async def test_an_anonymous_orders_history_shows_each_caller_only_their_own_changes(
        self, client: httpx.AsyncClient, alice: AuthUser, bob: AuthUser
    ) -> None:
        await client.post("/api/v1/orders", json={"customer": "Yulia"})
        await client.post("/api/v1/orders/1/status", json={"status": "paid"}, headers=alice.headers)
        actors = {}
        for name, headers in (("anonymous", {}), ("bob", bob.headers), ("alice", alice.headers)):
            history = await client.get("/api/v1/orders/1/history", headers=headers)
            actors[name] = [c["actor_id"] for c in history.json()["items"]]
        assert actors == {
            "anonymous": [None, None],
            "bob": [None, None],
            "alice": [None, str(alice.id)],
        }

    async def test_lists_show_own_and_anonymous_orders(
        self, client: httpx.AsyncClient, alice: AuthUser, bob: AuthUser
    ) -> None:
        await client.post("/api/v1/orders", json={"customer": "A"}, headers=alice.headers)
        await client.post("/api/v1/orders", json={"customer": "B"}, headers=bob.headers)
        await client.post("/api/v1/orders", json={"customer": "anyone"})

        async def customers(headers: dict[str, str]) -> list[str]:
            page = (await client.get("/api/v1/orders", headers=headers)).json()
            return [o["customer"] for o in page["items"]]

        assert await customers(alice.headers) == ["A", "anyone"]
        assert await customers(bob.headers) == ["B", "anyone"]
        assert await customers({}) == ["anyone"]

    async def test_events_carry_the_owner_and_the_actor(
        self, client: httpx.AsyncClient, alice: AuthUser, database_url: str
    ) -> None:
        await client.post("/api/v1/orders", json={"customer": "Yulia"}, headers=alice.headers)
        await client.post("/api/v1/orders/1/status", json={"status": "paid"}, headers=alice.headers)
        events = await outbox_events(database_url)
        assert [(key, e["type"]) for key, e in events] == [
            ("1", "order.created"),
            ("1", "order.status_changed"),
        ]
        for _, event in events:
            assert event["actor_id"] == str(alice.id)
            assert event["data"]["owner_id"] == str(alice.id)

    async def test_a_forged_token_is_401(self, client: httpx.AsyncClient, alice: AuthUser) -> None:
        head, payload, _ = alice.access_token.split(".")
        response = await client.post(
            "/api/v1/orders",
            json={"customer": "Yulia"},
            headers={"Authorization": f"Bearer {head}.{payload}.AAAA"},
        )
        assert response.status_code == 401
        assert (await client.get("/api/v1/orders")).json()["total"] == 0

    async def test_other_credentials_are_401_not_anonymous(self, client: httpx.AsyncClient) -> None:
        for header in ("Basic YWxpY2U6c2VjcmV0", "Bearer", "a.b.c"):
            response = await client.post(
                "/api/v1/orders", json={"customer": "Yulia"}, headers={"Authorization": header}
            )
            assert response.status_code == 401, header
        assert (await client.get("/api/v1/orders")).json()["total"] == 0


class TestSocketScope:
    async def test_one_users_orders_are_not_broadcast_to_another(
        self, orders_with_auth: str, alice: AuthUser, bob: AuthUser
    ) -> None:
        async with (
            ws_client(orders_with_auth, token=alice.access_token) as alice_ws,
            ws_client(orders_with_auth, headers=bob.headers) as bob_ws,
            ws_client(orders_with_auth) as anonymous_ws,
        ):
            assert await alice_ws.request({"action": "create_order", "customer": "Alice's"}) == {
                "type": "result",
                "action": "create_order",
                "order": {"id": 1, "customer": "Alice's", "status": "created"},
            }
            assert (await alice_ws.recv())["order_id"] == 1
            await alice_ws.request({"action": "change_status", "order_id": 1, "status": "paid"})
            assert await alice_ws.recv() == {
                "type": "order_status_changed",
                "order_id": 1,
                "customer": "Alice's",
                "status": "paid",
            }
            # Broadcasts go out in commit order: the next thing Bob and the anonymous
            # client hear is this anonymous order, never Alice's.
            await anonymous_ws.request({"action": "create_order", "customer": "open"})
            for ws in (bob_ws, anonymous_ws, alice_ws):
                assert await ws.recv() == {
                    "type": "order_created",
                    "order_id": 2,
                    "customer": "open",
                    "status": "created",
                }
            # Nor can Bob read or change it.
            assert await bob_ws.request({"action": "get_order", "order_id": 1}) == {
                "type": "error",
                "action": "get_order",
                "error": "order not found",
            }
            assert await bob_ws.request(
                {"action": "change_status", "order_id": 1, "status": "cancelled"}
            ) == {"type": "error", "action": "change_status", "error": "order not found"}
            listed = await bob_ws.request({"action": "list_orders"})
            assert [o["id"] for o in listed["orders"]] == [2]

    async def test_a_bad_token_closes_4401(self, orders_with_auth: str) -> None:
        with pytest.raises(ConnectionClosed) as closed:
            async with ws_client(orders_with_auth, token="not-a-token") as ws:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401

    async def test_other_credentials_close_4401_not_anonymous(self, orders_with_auth: str) -> None:
        headers = {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
        with pytest.raises(ConnectionClosed) as closed:
            async with ws_client(orders_with_auth, headers=headers) as ws:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


class TestAuthUnavailable:
    async def test_a_token_without_auth_service_closes_1013(self, orders_url: str) -> None:
        # The default test settings point auth_url at a port nobody listens on.
        with pytest.raises(ConnectionClosed) as closed:
            async with ws_client(orders_url, token="a.b.c") as ws:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013

    async def test_anonymous_sockets_do_not_need_it(self, orders_url: str) -> None:
        async with ws_client(orders_url) as ws:
            assert await ws.request({"action": "ping"}) == {"type": "pong"}
