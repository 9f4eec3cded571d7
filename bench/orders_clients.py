"""Clients of the orders API for the benchmark: the seed's socket protocol and REST.

Both create an order and move it one status at a time; an ``OrderWalker`` turns one
client into the two closed-loop steps the benchmark runs (create, then walk every order
it created through paid -> shipped -> delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from typing import Any, Protocol

import httpx
from websockets.asyncio.client import ClientConnection

# The seed's happy path after "created".
WALK = ("paid", "shipped", "delivered")
_REPLIES = {"result", "error", "pong"}


class OrdersClient(Protocol):
    async def create(self, customer: str) -> int | None:
        """The new order's id, or None when the server refused."""
        ...

    async def change(self, order_id: int, status: str) -> bool: ...


class SocketClient:
    """One socket, one request at a time (the seed's protocol has no request ids); the
    broadcasts that arrive before a reply are read and counted."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self.broadcasts = 0

    async def _request(self, frame: dict[str, Any]) -> dict[str, Any]:
        await self._connection.send(json.dumps(frame))
        while True:
            message: dict[str, Any] = json.loads(await self._connection.recv())
            if message.get("type") in _REPLIES:
                return message
            self.broadcasts += 1

    async def drain(self, quiet: float) -> None:
        """Read the broadcasts still coming until none came for ``quiet`` seconds."""
        with contextlib.suppress(TimeoutError):
            while True:
                await asyncio.wait_for(self._connection.recv(), quiet)
                self.broadcasts += 1

    async def create(self, customer: str) -> int | None:
        reply = await self._request({"action": "create_order", "customer": customer})
        return int(reply["order"]["id"]) if reply["type"] == "result" else None

    async def change(self, order_id: int, status: str) -> bool:
        reply = await self._request(
            {"action": "change_status", "order_id": order_id, "status": status}
        )
        return bool(reply["type"] == "result")


class RestClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def create(self, customer: str) -> int | None:
        response = await self._client.post("/api/v1/orders", json={"customer": customer})
        return int(response.json()["id"]) if response.status_code == 201 else None

    async def change(self, order_id: int, status: str) -> bool:
        response = await self._client.post(
            f"/api/v1/orders/{order_id}/status", json={"status": status}
        )
        return response.status_code == 200


class OrderWalker:
    def __init__(self, client: OrdersClient, name: str) -> None:
        self._client = client
        self._name = name
        self._created: list[int] = []
        self._pending: deque[tuple[int, str]] = deque()

    async def create(self) -> bool:
        order_id = await self._client.create(self._name)
        if order_id is None:
            return False
        self._created.append(order_id)
        return True

    async def transition(self) -> bool | None:
        """The next step of the orders created so far; None once all are delivered."""
        if not self._pending:
            self._pending.extend((o, s) for o in self._created for s in WALK)
            self._created.clear()
        if not self._pending:
            return None
        order_id, status = self._pending.popleft()
        return await self._client.change(order_id, status)
