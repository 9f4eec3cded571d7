"""The chat_service application: ``uvicorn --factory chat_service.main:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text

from chat_service.attachments.housekeeping import unsent_purger
from chat_service.attachments.router import router as attachments_router
from chat_service.chats.presence import went_offline
from chat_service.chats.router import router as chats_router
from chat_service.config import Settings, get_settings
from chat_service.database import make_engine
from chat_service.invites.router import router as invites_router
from chat_service.messages.router import router as messages_router
from chat_service.models import OutboxEvent
from chat_service.realtime.hub import Hub, LocalHub, RedisHub
from chat_service.realtime.presence import Presence, RedisPresence
from chat_service.state import ChatState
from chat_service.users import UserDirectory
from chat_service.ws.docs import router as ws_docs_router
from chat_service.ws.endpoints import router as ws_router
from shared.app import ReadinessCheck, install_common
from shared.auth.ended import EndedSessions, ended_sessions_for
from shared.auth.jwks import JwksVerifier
from shared.counters import CounterStore, MemoryCounters, RedisCounters, WindowLimit
from shared.db import create_sessionmaker
from shared.events.outbox import OutboxRelay
from shared.events.topics import CHAT_EVENTS
from shared.heap import Freezer
from shared.http import service_client
from shared.kafka import producer_for
from shared.logging import get_logger

log = get_logger(__name__)

DESCRIPTION = """
Private and group chats. Log in with **Authorize** (auth_service issues the token).

- REST here; the same actions over one WebSocket per user at `/ws?token=...`
  (send `{"action": "help"}` for every action with an example).
- The original chat's endpoints keep working: `/ws/chat/{chat_id}`, `/create_chat`, `/info`.
- The WebSocket protocol as AsyncAPI: [`/asyncapi.json`](/asyncapi.json), rendered at
  [`/asyncapi`](/asyncapi).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="chat_service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=_lifespan(settings),
        swagger_ui_parameters={"persistAuthorization": True},
    )
    install_common(app, cors_origins=settings.cors_origins)
    app.include_router(chats_router)
    app.include_router(messages_router)
    app.include_router(invites_router)
    app.include_router(attachments_router)
    app.include_router(ws_router)
    app.include_router(ws_docs_router)
    _login_at_auth_service(app, settings.auth_url)
    return app


def _login_at_auth_service(app: FastAPI, auth_url: str) -> None:
    """Swagger's "Authorize" posts the login form to auth_service, which issues tokens."""
    token_url = auth_url.rstrip("/") + "/api/v1/auth/login"
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemes = schema.get("components", {}).get("securitySchemes", {})
            for scheme in schemes.values():
                password = scheme.get("flows", {}).get("password")
                if password is not None:
                    password["tokenUrl"] = token_url
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        http = service_client()
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        hub: Hub = (
            RedisHub(redis, prefix=settings.redis_channel_prefix)
            if redis is not None
            else LocalHub()
        )
        presence = (
            RedisPresence(
                redis, prefix=settings.redis_channel_prefix, ttl=settings.presence_ttl_seconds
            )
            if redis is not None
            else Presence()
        )
        counters: CounterStore = (
            RedisCounters(redis, prefix=f"{settings.redis_channel_prefix}limits:")
            if redis is not None
            else MemoryCounters()
        )
        producer = relay = ended = None
        if settings.kafka_enabled:
            producer = producer_for(settings, [CHAT_EVENTS])
            relay = OutboxRelay(sessionmaker, OutboxEvent, producer, linger=settings.relay_linger)
            # Without Kafka no ended session is learned: tokens live until they expire.
            ended = ended_sessions_for(settings)
        state = ChatState(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            verifier=JwksVerifier(
                settings.auth_url,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                client=http,
                ended=ended or (),
            ),
            hub=hub,
            writes=WindowLimit(
                counters,
                limit=settings.rest_writes_per_window,
                window_seconds=settings.rest_write_window_seconds,
                fail_open=True,  # writes go on without Redis (events wait in the outbox)
            ),
            upload_bytes=WindowLimit(
                counters,
                limit=settings.attachment_bytes_per_day,
                window_seconds=24 * 3600,
                fail_open=True,
            ),
            http=http,
            users=UserDirectory(settings.auth_url, http),
            redis=redis,
            producer=producer,
            relay=relay,
            ended=ended or (),
            presence=presence,
        )
        app.state.chat = state
        app.state.readiness = _readiness(state, ended)
        freezer = Freezer(settings.gc_freeze_interval)
        freezer.start()
        purger = unsent_purger(
            sessionmaker,
            ttl=settings.attachment_unsent_ttl_seconds,
            interval=settings.attachment_purge_interval_seconds,
        )
        purger.start()
        await hub.start()
        presence.on_offline(partial(went_offline, state))
        await presence.start()
        if ended is not None:
            ended.on_end(hub.end_session)
            ended.start()
        if producer is not None and relay is not None:
            producer.start()
            relay.start()
        log.info("chat_service.started", port=settings.port, environment=settings.environment)
        try:
            yield
        finally:
            if relay is not None:
                await relay.stop()
            if producer is not None:
                await producer.stop()
            if ended is not None:
                await ended.stop()
            try:
                await presence.stop()
            except Exception as exc:  # Redis gone: its marks expire on their own
                log.warning("presence.stop_failed", error=repr(exc))
            await hub.stop()
            await purger.stop()
            await freezer.stop()
            if redis is not None:
                await redis.aclose()
            await http.aclose()
            await engine.dispose()

    return lifespan


def _readiness(state: ChatState, ended: EndedSessions | None) -> dict[str, ReadinessCheck]:
    async def database() -> None:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    checks: dict[str, ReadinessCheck] = {"database": database}
    if state.producer is not None:
        checks["kafka"] = state.producer.check
    if ended is not None:
        checks["ended_sessions"] = ended.check
    if state.redis is not None:
        redis = state.redis

        async def ping_redis() -> None:
            await redis.ping()

        checks["redis"] = ping_redis
    return checks
