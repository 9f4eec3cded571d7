"""The gateway's runtime: every client it owns, started and stopped in order.

Shutdown order matters: the consumers stop (finishing and committing their batch) before
any socket is closed, so nothing is consumed for sockets already gone; see
:mod:`notify_ws_service.server`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notify_ws_service.auth.verifier import AuthVerifier
from notify_ws_service.config import Settings
from notify_ws_service.database import ping
from notify_ws_service.fanout.bus import Bus, LocalBus, RedisBus
from notify_ws_service.fanout.presence import LocalPresence, Presence, RedisPresence
from notify_ws_service.fanout.subscriptions import Subscriptions
from notify_ws_service.inbox import repository
from notify_ws_service.ingest.consumer import DomainEventHandler, NotificationHandler
from notify_ws_service.ingest.service import Ingestor
from notify_ws_service.ws.inbox_reads import InboxReads
from notify_ws_service.ws.registry import Registry
from shared.app import ReadinessCheck
from shared.auth.ended import ended_sessions_for
from shared.db import create_engine, create_sessionmaker, session_scope, utcnow
from shared.events.topics import dead_letter
from shared.heap import Freezer
from shared.http import service_client
from shared.kafka import BatchConsumer, BatchHandler, ResilientProducer, ensure_topics
from shared.logging import get_logger
from shared.periodic import Periodic

log = get_logger(__name__)


class ConsumerNotRunning(Exception):
    pass


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry(max_connections=settings.max_connections)
        self.engine: AsyncEngine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.http = service_client()
        self.ended = ended_sessions_for(settings)
        self.ended.on_end(self.registry.end_session)
        self.verifier = AuthVerifier(
            settings.auth_url,
            self.http,
            timeout=settings.auth_timeout,
            cache_ttl=settings.auth_cache_ttl,
            negative_ttl=settings.auth_negative_cache_ttl,
            max_entries=settings.auth_cache_size,
            ended=self.ended,
        )
        self.redis: Redis | None = None
        self.bus: Bus
        self.presence: Presence
        if settings.redis_url:
            # Bounded: a reconnect storm waits for a connection instead of failing.
            self.redis = Redis(
                connection_pool=BlockingConnectionPool.from_url(
                    settings.redis_url,
                    max_connections=settings.redis_max_connections,
                    timeout=settings.redis_pool_timeout,
                )
            )
            self.bus = RedisBus(self.redis, self.registry, prefix=settings.redis_prefix)
            self.presence = RedisPresence(
                self.redis,
                prefix=settings.redis_prefix,
                cap=settings.max_sockets_per_user,
                lease=settings.presence_ttl,
            )
        else:
            self.bus = LocalBus(self.registry)
            self.presence = LocalPresence(cap=settings.max_sockets_per_user)
        self.subscriptions = Subscriptions(self.bus)
        self.inbox_reads = InboxReads(self.sessionmaker, limit=settings.catchup_limit)
        self.ingestor = Ingestor(
            self.engine,
            self.sessionmaker,
            self.bus,
            redelivery_push_window=settings.redelivery_push_window,
        )
        self.producer = ResilientProducer(
            settings.kafka_bootstrap_servers,
            enable_idempotence=settings.kafka_enable_idempotence,
            client_id=settings.kafka_client_id,
        )
        self.consumers: list[BatchConsumer] = []
        self.consuming = asyncio.Event()
        self._starting: asyncio.Task[None] | None = None
        self._pruning = Periodic(
            self.prune_inbox,
            interval=settings.prune_interval,
            name="notify-prune",
            failed="inbox.prune_failed",
        )
        self._freezer = Freezer(settings.gc_freeze_interval)
        self._drained = False

    async def start(self) -> None:
        await self.bus.start()
        await self.presence.start(lambda: ((c.user_id, c.id) for c in self.registry.connections()))
        self.ended.start()
        self.producer.start()
        self._starting = asyncio.create_task(self._start_consumers(), name="notify-consumers")
        self._pruning.start()
        self._freezer.start()

    async def _start_consumers(self) -> None:
        """Keeps trying while the broker is down, so the gateway comes up regardless."""
        settings = self.settings
        plan: list[tuple[list[str], str, BatchHandler]] = [
            (
                [settings.notification_topic],
                settings.consumer_group,
                NotificationHandler(self.ingestor, max_record_bytes=settings.max_record_bytes),
            )
        ]
        if settings.consume_domain_events and settings.domain_event_topics:
            plan.append(
                (
                    settings.domain_event_topics,
                    settings.domain_events_group,
                    DomainEventHandler(self.ingestor, max_record_bytes=settings.max_record_bytes),
                )
            )
        while True:
            try:
                await self.producer.wait_ready(timeout=30)
                if settings.create_topics and not self.consumers:
                    await self._create_topics([t for topics, _, _ in plan for t in topics])
                for topics, group, handler in plan[len(self.consumers) :]:
                    consumer = BatchConsumer(
                        topics,
                        bootstrap_servers=settings.kafka_bootstrap_servers,
                        group_id=group,
                        handler=handler,
                        producer=self.producer.producer,
                        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                    )
                    await consumer.start()
                    self.consumers.append(consumer)
                    log.info("consumer.started", topics=topics, group=group)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer.start_failed", error=repr(exc))
                await asyncio.sleep(2.0)
                continue
            self.consuming.set()
            return

    async def _create_topics(self, topics: list[str]) -> None:
        """Development convenience; where topics are provisioned (and the gateway may not
        create them) a failure here must not keep the consumers from starting."""
        try:
            await ensure_topics(
                self.settings.kafka_bootstrap_servers,
                [*topics, *(dead_letter(t) for t in topics)],
                partitions=self.settings.kafka_topic_partitions,
                replication_factor=self.settings.kafka_replication_factor,
            )
        except Exception as exc:
            log.warning("kafka.create_topics_failed", error=repr(exc))

    async def drain(self) -> None:
        """Stop consuming: finish and commit the batch in hand, leave the groups."""
        if self._drained:
            return
        self._drained = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        for consumer in self.consumers:
            # With the broker gone a clean leave can hang; offsets not committed then
            # only mean a redelivery, which storing by message_id absorbs.
            try:
                await asyncio.wait_for(consumer.stop(), self.settings.drain_timeout)
            except Exception as exc:
                log.warning("consumer.stop_failed", error=repr(exc))
        self.consumers.clear()
        log.info("consumer.stopped")

    async def stop(self) -> None:
        await self.drain()
        await self._pruning.stop()
        await self._freezer.stop()
        await self.ended.stop()
        await self.presence.stop()
        await self.bus.stop()
        await self.producer.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.http.aclose()
        await self.engine.dispose()

    async def prune_inbox(self) -> int:
        """Delete notifications older than the retention; returns how many."""
        cutoff = utcnow() - timedelta(days=self.settings.inbox_retention_days)
        async with session_scope(self.sessionmaker) as session:
            deleted = await repository.delete_older_than(session, cutoff)
        if deleted:
            log.info("inbox.pruned", deleted=deleted)
        return deleted

    def readiness(self) -> dict[str, ReadinessCheck]:
        checks: dict[str, ReadinessCheck] = {
            "database": lambda: ping(self.engine),
            "kafka": self.producer.check,
            "consumer": self._consumer_check,
            "ended_sessions": self.ended.check,
        }
        if self.redis is not None:
            redis = self.redis

            async def redis_ping() -> None:
                await redis.ping()

            checks["redis"] = redis_ping
        return checks

    async def _consumer_check(self) -> None:
        if not self.consuming.is_set() or self._drained:
            raise ConsumerNotRunning()
        if not all(consumer.running for consumer in self.consumers):
            raise ConsumerNotRunning()
