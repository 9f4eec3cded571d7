"""Settings of the notification gateway (env prefix ``NOTIFY_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings
from shared.events.topics import CHAT_EVENTS, NOTIFICATION_SEND, ORDERS_EVENTS


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_")

    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///var/notify_ws_service.db"
    kafka_client_id: str = "notify-ws-service"

    # Kafka. Every instance of the fleet shares one group: each record is consumed and
    # stored once, then fanned out through Redis to whichever instance holds the sockets.
    notification_topic: str = NOTIFICATION_SEND
    consumer_group: str = "notify-ws-service"
    consume_domain_events: bool = True
    domain_event_topics: list[str] = Field(default_factory=lambda: [CHAT_EVENTS, ORDERS_EVENTS])
    domain_events_group: str = "notify-ws-service-events"
    drain_timeout: float = Field(default=10.0, gt=0)
    max_record_bytes: int = Field(default=32 * 1024, ge=256)
    # A redelivered record whose notification is already stored is pushed again only if
    # it was stored this recently (a crash between storing and pushing); older ones are
    # left to ``?since=`` catch-up. Connections drop duplicates by message_id anyway.
    redelivery_push_window: float = Field(default=300.0, ge=0)

    # Redis: pub/sub channels and the per-user socket registry live under this prefix.
    redis_prefix: str = "notify:"
    # The pool is bounded, and a command waits up to ``redis_pool_timeout`` seconds for a
    # connection (a reconnect storm queues instead of failing handshakes). One connection
    # is held by pub/sub for good.
    redis_max_connections: int = Field(default=50, ge=2)
    redis_pool_timeout: float = Field(default=10.0, gt=0)

    # Token checks against auth_service /verify.
    auth_timeout: float = Field(default=3.0, gt=0)
    auth_cache_ttl: float = Field(default=15.0, ge=0)
    auth_negative_cache_ttl: float = Field(default=5.0, ge=0)
    auth_cache_size: int = Field(default=10_000, ge=1)
    revalidate_interval: float = Field(default=30.0, gt=0)
    expiry_grace: float = Field(default=10.0, ge=0)

    # Sockets.
    max_connections: int = Field(default=10_000, ge=1)
    max_sockets_per_user: int = Field(default=10, ge=1)
    presence_ttl: float = Field(default=60.0, gt=0)
    frames_per_second: float = Field(default=5.0, gt=0)
    frame_burst: float = Field(default=20.0, ge=1)
    # A socket is dropped as a slow client once this many bytes wait to be sent to it,
    # or this many pushes wait for an earlier one.
    send_buffer_bytes: int = Field(default=128 * 1024, ge=1024)
    send_queue_size: int = Field(default=256, ge=1)
    close_timeout: float = Field(default=2.0, gt=0)
    ws_ping_interval: float = Field(default=25.0, gt=0)
    ws_ping_timeout: float = Field(default=20.0, gt=0)
    ws_max_size: int = Field(default=64 * 1024, ge=1024)
    allowed_origins: list[str] = Field(default_factory=list)
    catchup_limit: int = Field(default=500, ge=1)

    # Inbox retention: older notifications are deleted (``?since=`` one of them reports
    # ``complete: false``).
    inbox_retention_days: float = Field(default=30.0, gt=0)
    prune_interval: float = Field(default=3600.0, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
