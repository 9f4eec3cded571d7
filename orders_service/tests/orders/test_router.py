"""REST at /api/v1/orders."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import ws_client


@pytest.fixture
async def client(orders_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=orders_url, timeout=15) as client:
        yield client


async def _create(client: httpx.AsyncClient, customer: str = "Yulia") -> dict[str, object]:
    response = await client.post("/api/v1/orders", json={"customer": customer})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


class TestCreate:
    async def test_created(self, client: httpx.AsyncClient) -> None:
        body = await _create(client, "  Yulia ")
        assert {k: body[k] for k in ("id", "customer", "status", "owner_id", "version")} == {
            "id": 1,
            "customer": "Yulia",
            "status": "created",
            "owner_id": None,
            "version": 1,
        }
        assert body["created_at"] == body["updated_at"]

    @pytest.mark.parametrize(
        "body", [{}, {"customer": ""}, {"customer": " "}, {"customer": 5}, {"customer": "Yu\x00"}]
    )
    async def test_invalid_customer_is_422_and_creates_nothing(
        self, client: httpx.AsyncClient, body: dict[str, object]
    ) -> None:
        response = await client.post("/api/v1/orders", json=body)
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"
        assert (await client.get("/api/v1/orders")).json()["total"] == 0

    async def test_fields_it_does_not_take_are_422_not_ignored(
        self, client: httpx.AsyncClient
    ) -> None:
        body = {"customer": "Yulia", "status": "paid", "owner_id": "someone"}
        response = await client.post("/api/v1/orders", json=body)
        assert response.status_code == 422
        assert {e["loc"][-1] for e in response.json()["detail"]} == {"status", "owner_id"}
        assert (await client.get("/api/v1/orders")).json()["total"] == 0
        created = (await client.post("/api/v1/orders", json={"customer": "Yulia"})).json()
        change = {"status": "paid", "version": 7}
        refused = await client.post(f"/api/v1/orders/{created['id']}/status", json=change)
        assert refused.status_code == 422
        assert (await client.get(f"/api/v1/orders/{created['id']}")).json()["status"] == "created"

    async def test_a_bad_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/v1/orders", json={"customer": "Yulia"}, headers={"Authorization": "Bearer x.y.z"}
        )
        # No auth_service to fetch keys from: refused, never served as anonymous.
        assert response.status_code == 503
        assert response.json()["detail"] == "auth_service unavailable, try again later"
        assert (await client.get("/api/v1/orders")).json()["total"] == 0


class TestGet:
    async def test_found(self, client: httpx.AsyncClient) -> None:
        created = await _create(client)
        assert (await client.get("/api/v1/orders/1")).json() == created

    async def test_not_found(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/orders/1")
        assert response.status_code == 404
        assert response.json() == {"error": "OrderNotFound", "detail": "order not found"}

    @pytest.mark.parametrize("order_id", ["abc", "0", "1.5", "99999999999"])
    async def test_bad_id_is_422(self, client: httpx.AsyncClient, order_id: str) -> None:
        assert (await client.get(f"/api/v1/orders/{order_id}")).status_code == 422


class TestList:
    async def test_pages_and_filter(self, client: httpx.AsyncClient) -> None:
        for name in ("A", "B", "C"):
            await _create(client, name)
        await client.post("/api/v1/orders/3/status", json={"status": "cancelled"})
        page = (await client.get("/api/v1/orders", params={"limit": 2})).json()
        assert [o["customer"] for o in page["items"]] == ["A", "B"]
        assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
        rest = (await client.get("/api/v1/orders", params={"limit": 2, "offset": 2})).json()
        assert [o["id"] for o in rest["items"]] == [3]
        cancelled = (await client.get("/api/v1/orders", params={"status": "cancelled"})).json()
        assert [o["id"] for o in cancelled["items"]] == [3]
        assert cancelled["total"] == 1

    @pytest.mark.parametrize(
        "params",
        [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"offset": 2**81}, {"status": "lost"}],
    )
    async def test_bad_params_are_422(
        self, client: httpx.AsyncClient, params: dict[str, int | str]
    ) -> None:
        assert (await client.get("/api/v1/orders", params=params)).status_code == 422


class TestChangeStatus:
    async def test_the_whole_happy_path(self, client: httpx.AsyncClient) -> None:
        await _create(client)
        for version, status in enumerate(("paid", "shipped", "delivered"), start=2):
            response = await client.post("/api/v1/orders/1/status", json={"status": status})
            assert response.status_code == 200
            assert (response.json()["status"], response.json()["version"]) == (status, version)
        refused = await client.post("/api/v1/orders/1/status", json={"status": "paid"})
        assert refused.status_code == 409

        history = (await client.get("/api/v1/orders/1/history")).json()
        assert history["order_id"] == 1
        steps = [(c["version"], c["status"], c["actor_id"]) for c in history["items"]]
        assert steps == [
            (1, "created", None),
            (2, "paid", None),
            (3, "shipped", None),
            (4, "delivered", None),
        ]
        times = [c["changed_at"] for c in history["items"]]
        assert times == sorted(times)
        assert all(t.endswith("Z") for t in times)

    async def test_history_of_an_unknown_order_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/orders/7/history")
        assert (response.status_code, response.json()["error"]) == (404, "OrderNotFound")
        assert (await client.get("/api/v1/orders/0/history")).status_code == 422

    @pytest.mark.parametrize(
        ("path", "target"),
        [
            ((), "created"),
            ((), "shipped"),
            ((), "delivered"),
            (("paid",), "paid"),
            (("paid",), "delivered"),
            (("paid", "shipped"), "cancelled"),
            (("paid", "shipped"), "paid"),
            (("paid", "shipped", "delivered"), "paid"),
            (("cancelled",), "paid"),
            (("paid", "cancelled"), "shipped"),
        ],
    )
    async def test_refused_transitions_are_409_with_the_seeds_text(
        self, client: httpx.AsyncClient, path: tuple[str, ...], target: str
    ) -> None:
        await _create(client)
        for status in path:
            assert (
                await client.post("/api/v1/orders/1/status", json={"status": status})
            ).status_code == 200
        current = path[-1] if path else "created"
        response = await client.post("/api/v1/orders/1/status", json={"status": target})
        assert response.status_code == 409
        assert response.json() == {
            "error": "InvalidTransition",
            "detail": f"Cannot change status from '{current}' to '{target}'",
        }
        assert (await client.get("/api/v1/orders/1")).json()["status"] == current

    async def test_unknown_order_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/orders/7/status", json={"status": "paid"})
        assert response.status_code == 404

    async def test_unknown_status_is_422(self, client: httpx.AsyncClient) -> None:
        await _create(client)
        response = await client.post("/api/v1/orders/1/status", json={"status": "refunded"})
        assert response.status_code == 422


class TestSameCodeAsTheSocket:
    async def test_rest_changes_are_broadcast_and_seen_by_the_socket(
        self, client: httpx.AsyncClient, orders_url: str
    ) -> None:
        async with ws_client(orders_url) as ws:
            await _create(client)
            assert await ws.recv() == {
                "type": "order_created",
                "order_id": 1,
                "customer": "Yulia",
                "status": "created",
            }
            await client.post("/api/v1/orders/1/status", json={"status": "paid"})
            assert (await ws.recv())["status"] == "paid"
            assert (await ws.request({"action": "get_order", "order_id": 1}))["order"] == {
                "id": 1,
                "customer": "Yulia",
                "status": "paid",
            }


class TestOpenApi:
    async def test_every_operation_is_documented_with_examples(
        self, client: httpx.AsyncClient
    ) -> None:
        schema = (await client.get("/openapi.json")).json()
        paths = schema["paths"]
        assert set(paths["/api/v1/orders"]) == {"get", "post"}
        assert set(paths["/api/v1/orders/{order_id}"]) == {"get"}
        assert set(paths["/api/v1/orders/{order_id}/status"]) == {"post"}
        change = paths["/api/v1/orders/{order_id}/status"]["post"]
        assert change["responses"]["409"]["content"]["application/json"]["example"] == {
            "error": "InvalidTransition",
            "detail": "Cannot change status from 'delivered' to 'paid'",
        }
        components = schema["components"]["schemas"]
        assert components["OrderCreate"]["examples"] == [{"customer": "Yulia"}]
        assert components["OrderStatusUpdate"]["examples"] == [{"status": "paid"}]
        assert "HTTPBearer" in schema["components"]["securitySchemes"]

    async def test_the_token_is_optional_everywhere(self, client: httpx.AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        for name, path in paths.items():
            for operation in path.values() if name.startswith("/api/v1/orders") else ():
                assert operation["security"] == [{"HTTPBearer": []}, {}]
