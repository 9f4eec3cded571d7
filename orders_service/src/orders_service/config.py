"""Settings of the orders service (env prefix ``ORDERS_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings
from shared.events.topics import ORDERS_EVENTS


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_")

    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///var/orders_service.db"
    kafka_client_id: str = "orders-service"

    # Kafka: every change is staged in the outbox and relayed to this topic.
    events_topic: str = ORDERS_EVENTS
    relay_poll_interval: float = Field(default=0.5, gt=0)
    # After a commit wakes the relay it waits this long, so that the changes committed
    # meanwhile are published in the same batch instead of one transaction each.
    relay_linger: float = Field(default=0.05, ge=0)

    # Broadcasts between instances go through this Redis channel when redis_url is set.
    redis_channel: str = "orders:broadcast"

    # Sockets.
    frames_per_second: float = Field(default=20.0, gt=0)
    frame_burst: float = Field(default=40.0, ge=1)
    # Frames refused in a row (over the rate) before the socket is closed with 4429.
    flood_tolerance: int = Field(default=40, ge=1)
    send_queue_size: int = Field(default=1000, ge=1)
    ws_max_size: int = Field(default=64 * 1024, ge=1024)
    ws_ping_interval: float = Field(default=25.0, gt=0)
    ws_ping_timeout: float = Field(default=20.0, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
