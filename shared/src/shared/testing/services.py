"""Backing services for tests: an env URL wins, then testcontainers where Docker runs,
then the local services on 127.0.0.1 (and a broker the session starts itself)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

import asyncpg
from sqlalchemy.engine import make_url

from shared.devbroker import free_port, port_open, start_broker

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@contextmanager
def postgres_server() -> Iterator[str]:
    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
    elif docker_available():  # pragma: no cover - no Docker engine in CI
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as container:
            yield container.get_connection_url()
    else:
        yield LOCAL_POSTGRES


@contextmanager
def redis_server() -> Iterator[str]:
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
    elif docker_available():  # pragma: no cover - no Docker engine in CI
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
    else:
        yield LOCAL_REDIS


@contextmanager
def kafka_broker() -> Iterator[str]:
    if url := os.environ.get("TEST_KAFKA_BOOTSTRAP"):
        yield url
        return
    port = free_port()
    process = start_broker(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        with suppress(Exception):
            process.wait(timeout=10)


def plain_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the server; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(plain_dsn(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def terminate_backends(database_url: str) -> int:
    """Kill every server process connected to the database (as a failover or an
    administrator would); returns how many were terminated."""
    admin = await asyncpg.connect(plain_dsn(database_url, "postgres"))
    try:
        killed: int = await admin.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
            make_url(database_url).database,
        )
    finally:
        await admin.close()
    return killed


def broker_reachable(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    return port_open(host or "127.0.0.1", int(port))
