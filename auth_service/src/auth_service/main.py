"""The auth_service application: ``uvicorn --factory auth_service.main:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text

from auth_service.auth.housekeeping import session_purger
from auth_service.auth.router import keys_router
from auth_service.auth.router import router as auth_router
from auth_service.config import Settings, get_settings
from auth_service.database import make_engine
from auth_service.keys import load_previous_keys, load_signing_key
from auth_service.models import OutboxEvent
from auth_service.passwords import Passwords
from auth_service.state import AuthState
from auth_service.throttle import LoginThrottle, RegistrationLimit
from auth_service.tokens import Tokens
from auth_service.users.router import router as users_router
from shared.app import ReadinessCheck, install_common
from shared.counters import CounterStore, MemoryCounters, RedisCounters
from shared.db import create_sessionmaker
from shared.events.outbox import OutboxRelay
from shared.events.topics import AUTH_EVENTS
from shared.heap import Freezer
from shared.kafka import producer_for
from shared.logging import get_logger

log = get_logger(__name__)

DESCRIPTION = """
Accounts and tokens of the suite. Log in here (**Authorize**, with your email as the
username) and the access token works on every service: they verify it with the public
keys at `/.well-known/jwks.json`; the gateway asks `/api/v1/auth/verify`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="auth_service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=_lifespan(settings),
        swagger_ui_parameters={"persistAuthorization": True},
        openapi_tags=[
            {"name": "auth", "description": "Accounts, sessions and tokens"},
            {"name": "users", "description": "Profiles and finding people"},
            {"name": "keys", "description": "Public keys for local token verification"},
            {"name": "health", "description": "Liveness, readiness"},
        ],
    )
    install_common(app, cors_origins=settings.cors_origins)
    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(keys_router)
    return app


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        store: CounterStore = (
            RedisCounters(redis, prefix=settings.redis_key_prefix)
            if redis is not None
            else MemoryCounters()
        )
        producer = producer_for(settings, [AUTH_EVENTS])
        relay = OutboxRelay(sessionmaker, OutboxEvent, producer)
        state = AuthState(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            passwords=Passwords(settings),
            tokens=Tokens(
                load_signing_key(settings), settings, previous=load_previous_keys(settings)
            ),
            throttle=LoginThrottle(
                store,
                max_failures_per_account=settings.login_max_failures_per_account,
                max_failures_per_account_all_addresses=(
                    settings.login_max_failures_per_account_all_addresses
                ),
                max_failures_per_address=settings.login_max_failures_per_address,
                window_seconds=settings.login_failure_window_seconds,
            ),
            registrations=RegistrationLimit(
                store,
                max_per_address=settings.registrations_per_address,
                window_seconds=settings.registration_window_seconds,
            ),
            producer=producer,
            relay=relay,
            redis=redis,
        )
        app.state.auth = state
        app.state.readiness = _readiness(state)
        producer.start()
        relay.start()
        freezer = Freezer(settings.gc_freeze_interval)
        freezer.start()
        purger = session_purger(sessionmaker, settings)
        purger.start()
        log.info("auth_service.started", port=settings.port, environment=settings.environment)
        try:
            yield
        finally:
            await purger.stop()
            await freezer.stop()
            await relay.stop()
            await producer.stop()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    return lifespan


def _readiness(state: AuthState) -> dict[str, ReadinessCheck]:
    async def database() -> None:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    checks: dict[str, ReadinessCheck] = {"database": database, "kafka": state.producer.check}
    if state.redis is not None:
        redis = state.redis

        async def ping_redis() -> None:
            await redis.ping()

        checks["redis"] = ping_redis
    return checks
