"""Settings common to every service.

Each service subclasses :class:`ServiceSettings` with its own env prefix; nothing else in
a service reads ``os.environ``. Defaults are the embedded development setup (SQLite under
``var/``, in-process bus, a local broker); production refuses them at start.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")
# Seconds the services keep an idle connection to one another for reuse.
CLIENT_KEEP_ALIVE = 30


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InsecureSettingsError(ValueError):
    """A production process was started with a development-only setting."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///var/service.db"
    database_pool_size: int = Field(default=10, ge=1)
    redis_url: str | None = None
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Apache Kafka supports idempotent producers; the local development broker does not.
    kafka_enable_idempotence: bool = False
    kafka_client_id: str = "suite"
    # Topics the service uses are created at start; turn off where they are provisioned.
    create_topics: bool = True
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    # How long a consumer's fetch waits for records. Kafka answers as soon as records
    # arrive; the local development broker only when the wait ends, so there this is
    # the delivery latency.
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=1)
    log_level: str = "INFO"
    log_json: bool = False
    # Base URL of auth_service: JWKS for local verification, /verify for the gateway.
    auth_url: str = "http://127.0.0.1:8003"
    jwt_issuer: str = "auth_service"
    jwt_audience: str = "suite"
    cors_origins: list[str] = Field(default_factory=list)
    # How often what survived the young collections is frozen out of the cyclic garbage
    # collector (see shared.heap): a full collection over a busy server's objects stalls
    # its event loop for 100 ms and more. 0: never; the collector runs as Python sets it.
    gc_freeze_interval: float = Field(default=1.0, ge=0)
    # Seconds the HTTP server keeps an idle connection open. Longer than the suite's own
    # clients keep one for reuse and than load balancers usually do (60 s): the side that
    # reuses a connection must be the first to give it up (see shared.http).
    http_keep_alive: int = Field(default=75, gt=CLIENT_KEEP_ALIVE)
    # Peers whose X-Forwarded-For names the client (a proxy in front; "*" for any).
    forwarded_allow_ips: str = "127.0.0.1"

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Self:
        if self.is_production:
            problems = self.production_problems()
            if problems:
                raise InsecureSettingsError(
                    "refusing to start in production: " + "; ".join(problems)
                )
        return self

    def production_problems(self) -> list[str]:
        """Reasons this configuration is unfit for production; subclasses extend it."""
        problems = []
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL points at SQLite; use PostgreSQL")
        if self.redis_url is None:
            problems.append("REDIS_URL is unset; the in-process bus serves one replica only")
        return problems
