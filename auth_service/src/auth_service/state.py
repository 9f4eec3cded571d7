"""Everything the lifespan owns; dependencies only read it."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth_service.config import Settings
from auth_service.passwords import Passwords
from auth_service.throttle import LoginThrottle, RegistrationLimit
from auth_service.tokens import Tokens
from shared.events.outbox import OutboxRelay
from shared.kafka import ResilientProducer


@dataclass(frozen=True)
class AuthState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    passwords: Passwords
    tokens: Tokens
    throttle: LoginThrottle
    registrations: RegistrationLimit
    producer: ResilientProducer
    relay: OutboxRelay
    redis: Redis | None
