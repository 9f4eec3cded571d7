"""chat_service and orders_service as real processes for fault scenarios.

The broker can sit behind a TCP proxy the scenario cuts (a real network outage: the local
broker forgets its topics when restarted). Users register and log in at auth_service:
chat_service looks up everyone added to a chat there, with the adder's token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from bench.suite import Suite, suite
from shared.testing.auth_service import AuthUser, register_many
from shared.testing.proxy import TcpProxy, broker_behind_proxy
from shared.testing.services import plain_dsn

# Fault scenarios drive sockets far faster than a person types.
UNTHROTTLED = {
    "CHAT_WS_FRAMES_PER_SECOND": "100000",
    "CHAT_WS_FRAME_BURST": "100000",
    "CHAT_WS_FLOOD_STRIKES": "1000",
    "ORDERS_FRAMES_PER_SECOND": "100000",
    "ORDERS_FRAME_BURST": "100000",
    "ORDERS_FLOOD_TOLERANCE": "1000",
    "ORDERS_RELAY_POLL_INTERVAL": "0.2",
}
KAFKA_SETTINGS = {
    "chat_service": "CHAT_KAFKA_BOOTSTRAP_SERVERS",
    "orders_service": "ORDERS_KAFKA_BOOTSTRAP_SERVERS",
}


@dataclass
class Domain:
    suite: Suite
    # Set when the services reach the broker through a proxy the scenario can cut.
    proxy: TcpProxy | None

    @property
    def kafka(self) -> str:
        return self.proxy.address if self.proxy is not None else self.suite.kafka

    def url(self, service: str) -> str:
        return self.suite.url(service)

    def ws_url(self, service: str) -> str:
        return self.suite.ws_url(service)

    def http(self, service: str, *, max_connections: int = 100) -> httpx.AsyncClient:
        """A client of the service's REST API. Idle connections are dropped well before
        uvicorn's 5 s keep-alive ends: reusing one the server is closing at that moment
        fails the request with no answer, and a scenario cannot tell what happened."""
        limits = httpx.Limits(max_connections=max_connections, keepalive_expiry=1.0)
        return httpx.AsyncClient(base_url=self.url(service), timeout=30, limits=limits)

    async def users(self, prefix: str, count: int) -> list[AuthUser]:
        """``count`` users registered and logged in, named ``<prefix>0`` and on."""
        names = [f"{prefix}{number}" for number in range(count)]
        return await register_many(self.url("auth_service"), names)


@asynccontextmanager
async def domain_services(
    *services: str, cut_broker: bool = False, env: Mapping[str, str] | None = None
) -> AsyncIterator[Domain]:
    """auth_service plus ``services``; with ``cut_broker`` they reach Kafka through a proxy."""
    async with AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(broker_behind_proxy()) if cut_broker else None
        settings = dict(UNTHROTTLED)
        if proxy is not None:
            settings.update({KAFKA_SETTINGS[s]: proxy.address for s in services})
        settings.update(env or {})
        run = await stack.enter_async_context(suite(("auth_service", *services), env=settings))
        yield Domain(run, proxy)


@pytest.fixture(scope="session")
async def domain() -> AsyncIterator[Domain]:
    """chat_service and orders_service (and auth_service), started once for their
    scenarios, which keep apart by their own users, chats and orders."""
    async with domain_services("chat_service", "orders_service", cut_broker=True) as running:
        yield running


async def count_rows(database_url: str, table: str) -> int:
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        count: int = await connection.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await connection.close()
    return count
