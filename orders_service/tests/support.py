"""Helpers the orders tests share: a served app, socket clients, a Kafka reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect

from orders_service.config import Settings
from orders_service.main import create_app
from shared.kafka import ensure_topics
from shared.testing.server import serve

TIMEOUT = 15.0


@asynccontextmanager
async def serve_orders(settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings)
    async with serve(app, ws_max_size=settings.ws_max_size) as base_url:
        yield base_url


def plain_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def outbox_events(database_url: str) -> list[tuple[str | None, dict[str, Any]]]:
    """Events still waiting in the outbox (key, envelope), oldest first."""
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        rows = await connection.fetch("SELECT key, payload FROM outbox ORDER BY id")
    finally:
        await connection.close()
    return [(row["key"], json.loads(row["payload"])) for row in rows]


class WsClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: Any) -> None:
        await self.connection.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def request(self, message: Any) -> dict[str, Any]:
        await self.send(message)
        return await self.recv()

    async def recv_until(self, type_: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame of this type, skipping others (broadcasts of earlier changes)."""
        while True:
            frame = await self.recv(timeout)
            if frame.get("type") == type_:
                return frame


@asynccontextmanager
async def ws_client(
    base_url: str, *, token: str | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[WsClient]:
    url = base_url.replace("http://", "ws://", 1) + "/ws/orders"
    if token is not None:
        url += f"?token={token}"
    async with connect(url, additional_headers=headers, max_size=None) as connection:
        yield WsClient(connection)


class EventReader:
    """Reads a topic from the beginning without a consumer group (no rebalance waits)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self._bootstrap = bootstrap
        self._topic = topic
        self.seen: list[tuple[dict[str, Any], bytes | None]] = []

    async def __aenter__(self) -> EventReader:
        await ensure_topics(self._bootstrap, [self._topic])
        await self._consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def wait_for(
        self, event_type: str, order_id: int, timeout: float = 60.0
    ) -> tuple[dict[str, Any], bytes | None]:
        """The first record of this type for this order (its envelope and key)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = 0
        while True:
            for envelope, key in self.seen[checked:]:
                data = envelope.get("data", {})
                if envelope.get("type") == event_type and data.get("order_id") == order_id:
                    return envelope, key
            checked = len(self.seen)
            if loop.time() > deadline:
                break
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                self.seen.extend((json.loads(r.value), r.key) for r in records)
        raise AssertionError(f"no {event_type} for order {order_id} on Kafka")
