"""chat_service settings (env prefix ``CHAT_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings

# The Swagger pages of every local service may call this one.
LOCAL_ORIGINS = [
    f"http://{host}:{port}"
    for host in ("localhost", "127.0.0.1")
    for port in (8000, 8001, 8002, 8003)
]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHAT_", env_file=".env", extra="ignore", frozen=True
    )

    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///var/chat_service.db"
    kafka_client_id: str = "chat_service"
    # Off only in tests that do not look at Kafka: the outbox then keeps its rows.
    kafka_enabled: bool = True
    # After a commit wakes the outbox relay it waits this long, so that the events
    # committed meanwhile are published in the same batch instead of one transaction each.
    relay_linger: float = Field(default=0.05, ge=0)
    cors_origins: list[str] = Field(default_factory=lambda: list(LOCAL_ORIGINS))
    # Where users reach this service; invite links are built on it.
    public_url: str = "http://localhost:8002"
    # Events cross instances on the Redis channel ``{prefix}events``; tests give each app
    # its own prefix.
    redis_channel_prefix: str = "chat:"

    # Writes over REST (POST, PUT, PATCH, DELETE) one user may make in a window that
    # starts with the first; more get 429 with Retry-After. Shared through Redis.
    rest_writes_per_window: int = Field(default=300, ge=1)
    rest_write_window_seconds: int = Field(default=10, ge=1)

    ws_max_frame_bytes: int = Field(default=65536, ge=1024)
    ws_frames_per_second: float = Field(default=20.0, gt=0)
    ws_frame_burst: float = Field(default=40.0, ge=1)
    # Frames refused in a row for the rate before the socket is closed with 4429.
    ws_flood_strikes: int = Field(default=20, ge=1)
    ws_max_sockets_per_user: int = Field(default=20, ge=1)
    # Bytes a socket may leave unread before it is dropped with 1013.
    ws_send_buffer_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Seconds a closed socket's client has to answer the close frame before it is cut.
    ws_close_timeout: float = Field(default=2.0, gt=0)
    # Seconds a socket may outlive its token before it is closed with 4401.
    ws_token_grace_seconds: int = Field(default=30, ge=0)
    # How long an instance's word that a user is online holds before it is renewed
    # (every third of it): an instance that dies takes its users offline this late.
    presence_ttl_seconds: float = Field(default=30.0, ge=1)

    invite_default_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)

    # Files are kept in the database: a cap that PostgreSQL and memory take in stride.
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    # Bytes one user may upload in a day (counted from their first upload of it, by the
    # declared length, refused uploads too).
    attachment_bytes_per_day: int = Field(default=1024 * 1024 * 1024, ge=1024)
    # Uploads not yet sent in a message that one user may hold; older than the TTL, an
    # unsent upload is deleted.
    attachment_unsent_max: int = Field(default=20, ge=1)
    attachment_unsent_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    attachment_purge_interval_seconds: float = Field(default=600, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
