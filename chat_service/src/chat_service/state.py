"""What the lifespan owns, and the unit of work built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Container, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat_service.config import Settings
from chat_service.context import Actor, Work
from chat_service.group_commit import GroupCommit
from chat_service.messages.schemas import SendResult
from chat_service.messages.sending import Send, store_messages
from chat_service.realtime.frames import Delivery
from chat_service.realtime.hub import Hub
from chat_service.realtime.presence import Presence
from chat_service.users import UserDirectory
from shared.auth.tokens import TokenClaims
from shared.counters import WindowLimit
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
    # REST writes per user (see Settings.rest_writes_per_window).
    writes: WindowLimit
    # Upload bytes per user and day (Settings.attachment_bytes_per_day).
    upload_bytes: WindowLimit
    http: httpx.AsyncClient
    users: UserDirectory
    redis: Redis | None = None
    producer: ResilientProducer | None = None
    relay: OutboxRelay | None = None
    # Login sessions auth_service has ended (see shared.auth.ended).
    ended: Container[UUID] = ()
    presence: Presence = field(default_factory=Presence)
    # Message sends, REST and socket alike, committed in shared transactions.
    sends: GroupCommit[Send, SendResult] = field(init=False)

    def __post_init__(self) -> None:
        self.sends = GroupCommit(self._store_sends)

    @asynccontextmanager
    async def work(self, actor: Actor) -> AsyncIterator[Work]:
        """One transaction; after it commits the relay is woken and sockets are told."""
        async with session_scope(self.sessionmaker) as session:
            work = Work(session=session, actor=actor, users=self.users)
            yield work
        await self._committed(work.deliveries, work.events_recorded)

    async def _store_sends(
        self, sends: Sequence[Send], alone: bool
    ) -> list[SendResult | Exception]:
        async with session_scope(self.sessionmaker) as session:
            stored = await store_messages(session, sends, look_up_all=alone)
        await self._committed(stored.deliveries, stored.events)
        return stored.outcomes

    async def _committed(self, deliveries: Sequence[Delivery], events: int) -> None:
        if self.relay is not None and events:
            self.relay.wake()
        await self.hub.deliver(deliveries)
