"""Every client the service holds, started and stopped by the app's lifespan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orders_service.broadcast.bus import Bus, RedisBus
from orders_service.broadcast.hub import Hub
from orders_service.config import Settings
from orders_service.database import ping
from orders_service.models import OutboxEvent
from orders_service.orders.operations import OrderOperations
from shared.auth.ended import ended_sessions_for
from shared.auth.jwks import JwksVerifier
from shared.db import create_engine, create_sessionmaker
from shared.events.outbox import OutboxRelay
from shared.heap import Freezer
from shared.http import service_client
from shared.kafka import producer_for


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.http = service_client()
        self.ended = ended_sessions_for(settings)
        self.verifier = JwksVerifier(
            settings.auth_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            client=self.http,
            ended=self.ended,
        )
        self.producer = producer_for(settings, [settings.events_topic])
        self.relay = OutboxRelay(
            self.sessionmaker,
            OutboxEvent,
            self.producer,
            poll_interval=settings.relay_poll_interval,
            linger=settings.relay_linger,
        )
        self.hub = Hub()
        self.ended.on_end(self.hub.end_session)
        self.freezer = Freezer(settings.gc_freeze_interval)
        self.redis: Redis | None = None
        if settings.redis_url:
            self.redis = Redis.from_url(settings.redis_url)
            self.bus: Bus = RedisBus(self.hub, self.redis, settings.redis_channel)
        else:
            self.bus = Bus(self.hub)
        self.operations = OrderOperations(
            self.engine,
            bus=self.bus,
            topic=settings.events_topic,
            on_commit=self.relay.wake,
        )

    async def start(self) -> None:
        self.freezer.start()
        await self.bus.start()
        self.ended.start()
        self.producer.start()
        self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()
        await self.producer.stop()
        await self.ended.stop()
        await self.bus.stop()
        await self.freezer.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.http.aclose()
        await self.engine.dispose()

    def readiness(self) -> Mapping[str, Callable[[], Awaitable[None]]]:
        checks: dict[str, Callable[[], Awaitable[None]]] = {
            "database": partial(ping, self.engine),
            "kafka": self.producer.check,
            "ended_sessions": self.ended.check,
        }
        if self.redis is not None:
            checks["redis"] = self.bus.check
        return checks
