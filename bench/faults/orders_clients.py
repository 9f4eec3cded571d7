"""orders_service clients over REST and ``/ws/orders`` (anonymous, the seed's flow): both
answer a status change with the order as it now is, or the seed's refusal text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bench.faults.domain_sockets import NoReply, ReplySocket

Order = dict[str, Any]


class OrderCallFailed(Exception):
    """No answer (transport or server error): the change may or may not have happened."""


@dataclass(frozen=True)
class Change:
    order_id: int
    status: str
    # The order after the change, or None when it was refused.
    order: Order | None
    refusal: str = ""

    @property
    def won(self) -> bool:
        return self.order is not None


class OrdersClient(Protocol):
    async def create(self, customer: str) -> Order: ...

    async def change(self, order_id: int, status: str) -> Change: ...


@dataclass
class OrdersRest:
    client: httpx.AsyncClient

    async def create(self, customer: str) -> Order:
        response = await self._call("POST", "/api/v1/orders", {"customer": customer})
        if response.status_code != 201:
            raise OrderCallFailed(f"{response.status_code} {response.text[:200]}")
        order: Order = response.json()
        return order

    async def change(self, order_id: int, status: str) -> Change:
        response = await self._call("POST", f"/api/v1/orders/{order_id}/status", {"status": status})
        if response.status_code == 200:
            return Change(order_id, status, response.json())
        if response.status_code == 409:
            return Change(order_id, status, None, response.json()["detail"])
        raise OrderCallFailed(f"{response.status_code} {response.text[:200]}")

    async def get(self, order_id: int) -> Order:
        response = await self._call("GET", f"/api/v1/orders/{order_id}")
        response.raise_for_status()
        order: Order = response.json()
        return order

    async def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            return await self.client.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise OrderCallFailed(repr(exc)) from exc


class OrdersSocket(ReplySocket):
    """``/ws/orders``; every anonymous order's broadcasts arrive here too."""

    def __init__(self, base_url: str) -> None:
        super().__init__(f"{base_url}/ws/orders")

    async def create(self, customer: str) -> Order:
        reply = await self._ask("create_order", customer=customer)
        if reply.get("type") != "result":
            raise OrderCallFailed(str(reply))
        order: Order = reply["order"]
        return order

    async def change(self, order_id: int, status: str) -> Change:
        reply = await self._ask("change_status", order_id=order_id, status=status)
        if reply.get("type") == "result":
            return Change(order_id, status, reply["order"])
        refusal = str(reply.get("error", ""))
        if refusal.startswith("Cannot change status"):
            return Change(order_id, status, None, refusal)
        raise OrderCallFailed(str(reply))

    async def _ask(self, action: str, **fields: Any) -> dict[str, Any]:
        try:
            return await self.request(action, **fields)
        except NoReply as exc:
            raise OrderCallFailed(str(exc)) from exc
