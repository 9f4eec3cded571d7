"""What the lifespan owns, and the unit of work built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat_service.config import Settings
from chat_service.context import Actor, Work
from chat_service.realtime.hub import Hub
from shared.auth.tokens import TokenClaims
from shared.db import session_scope
from shared.events.outbox import OutboxRelay
from shared.kafka import ResilientProducer


class Verifier(Protocol):
    async def verify(self, token: str) -> TokenClaims: ...


@dataclass
class ChatState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    verifier: Verifier
    hub: Hub
    http: httpx.AsyncClient
    redis: Redis | None = None
    producer: ResilientProducer | None = None
    relay: OutboxRelay | None = None

    @asynccontextmanager
    async def work(self, actor: Actor) -> AsyncIterator[Work]:
        """One transaction; after it commits the relay is woken and sockets are told."""
        async with session_scope(self.sessionmaker) as session:
            work = Work(session=session, actor=actor)
            yield work
        if work.events_recorded and self.relay is not None:
            self.relay.wake()
        await self.hub.deliver(work.deliveries)
