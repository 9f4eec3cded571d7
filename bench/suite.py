"""Start the services a benchmark needs, each in its own process, on PostgreSQL.

Every run gets a broker on a free port, fresh databases and its own Redis key prefix, so a
benchmark never sees another run's data. A service can be pinned to a CPU core (taskset)
so that "per core" figures mean one core.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from shared.devbroker import free_port, start_broker
from shared.kafka import ensure_topics
from shared.testing.auth_service import GENEROUS_THROTTLING
from shared.testing.services import LOCAL_POSTGRES, LOCAL_REDIS, fresh_database, plain_dsn

PREFIXES = {
    "auth_service": "AUTH_",
    "notify_ws_service": "NOTIFY_",
    "chat_service": "CHAT_",
    "orders_service": "ORDERS_",
}


@dataclass
class Suite:
    kafka: str
    redis_url: str
    workdir: Path
    urls: dict[str, str] = field(default_factory=dict)
    # Each service's database, for scenarios that look inside it or fault it.
    databases: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.urls[service]

    def ws_url(self, service: str) -> str:
        return self.urls[service].replace("http://", "ws://", 1)

    def pid(self, service: str) -> int:
        return self.processes[service].pid


def taskset(core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(core)]


def _log_tail(path: Path, lines: int = 30) -> str:
    with suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


async def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited ({process.returncode}):\n{_log_tail(log)}")
            with suppress(httpx.TransportError):
                if (await client.get(url + "/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} was not ready in time:\n{_log_tail(log)}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# Every database a benchmark made that still exists, ours and the baselines'.
_databases: set[str] = set()
# How often the stand-in for autovacuum refreshes the planner's statistics.
ANALYZE_EVERY = 5.0


@asynccontextmanager
async def bench_database(postgres: str, prefix: str) -> AsyncIterator[str]:
    async with fresh_database(postgres, prefix) as url:
        _databases.add(url)
        try:
            yield url
        finally:
            _databases.discard(url)


@asynccontextmanager
async def autoanalyze(postgres: str) -> AsyncIterator[None]:
    """Where the server runs without autovacuum, ANALYZE every benchmark database every
    few seconds, as autovacuum would in production. Without it, tables that start empty
    keep the statistics of an empty table, and cached plans that scan them whole get
    slower with every row stored: a run would measure that, not the services."""
    admin = await asyncpg.connect(plain_dsn(postgres))
    try:
        enabled = await admin.fetchval("SHOW autovacuum") == "on"
    finally:
        await admin.close()

    async def analyze_forever() -> None:
        while True:
            await asyncio.sleep(ANALYZE_EVERY)
            for url in list(_databases):
                with suppress(Exception):  # dropped meanwhile
                    connection = await asyncpg.connect(plain_dsn(url))
                    try:
                        await connection.execute("ANALYZE")
                    finally:
                        await connection.close()

    task = None if enabled else asyncio.create_task(analyze_forever())
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


@asynccontextmanager
async def fresh_broker(workdir: Path, topics: Sequence[str] = ()) -> AsyncIterator[str]:
    """A broker of its own, holding only ``topics`` (empty); yields its address.

    The development broker's fetches slow down as it fills up (a record's wait grows
    tenfold over 50,000 records), so a contender measured after another gets one as
    empty as the first had."""
    port = free_port()
    broker = start_broker(port, log_path=workdir / f"broker-{port}.log")
    try:
        address = f"127.0.0.1:{port}"
        if topics:
            await ensure_topics(address, topics)
        yield address
    finally:
        await asyncio.to_thread(stop_process, broker)


@asynccontextmanager
async def suite(
    services: tuple[str, ...],
    *,
    cores: Mapping[str, int] | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Suite]:
    """Start ``services`` (in order; auth_service first when others need tokens).

    ``cores`` pins a service to a core; ``env`` adds settings (with their prefixes).
    PostgreSQL and Redis come from BENCH_POSTGRES_URL / BENCH_REDIS_URL or the local ones.
    """
    postgres = os.environ.get("BENCH_POSTGRES_URL", LOCAL_POSTGRES)
    redis_url = os.environ.get("BENCH_REDIS_URL", LOCAL_REDIS)
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        await stack.enter_async_context(autoanalyze(postgres))
        kafka = await stack.enter_async_context(fresh_broker(workdir))
        run = Suite(kafka=kafka, redis_url=redis_url, workdir=workdir)
        auth_port = free_port()
        for service in services:
            prefix = PREFIXES[service]
            database = await stack.enter_async_context(bench_database(postgres, "bench"))
            port = auth_port if service == "auth_service" else free_port()
            settings = {
                "ENVIRONMENT": "development",
                "PORT": str(port),
                "DATABASE_URL": database,
                "REDIS_URL": redis_url,
                "REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
                "KAFKA_BOOTSTRAP_SERVERS": run.kafka,
                "AUTH_URL": f"http://127.0.0.1:{auth_port}",
                "SIGNING_KEY_PATH": str(workdir / "signing_key.pem"),
                "LOG_LEVEL": "WARNING",
            }
            child_env = dict(os.environ)
            child_env.update({prefix + k: v for k, v in settings.items()})
            if service == "auth_service":
                child_env.update(GENEROUS_THROTTLING)
            child_env.update(env or {})
            log = workdir / f"{service}.log"
            command = [sys.executable, "-m", service]
            with log.open("ab") as migrate_out:
                subprocess.run(
                    [*command, "migrate"], env=child_env, stdout=migrate_out, stderr=migrate_out
                ).check_returncode()
            out = stack.enter_context(log.open("ab"))
            process = subprocess.Popen(
                [*taskset((cores or {}).get(service)), *command, "serve"],
                env=child_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            stack.callback(stop_process, process)
            url = f"http://127.0.0.1:{port}"
            await _wait_ready(url, process, log)
            run.urls[service] = url
            run.databases[service] = child_env[prefix + "DATABASE_URL"]
            run.processes[service] = process
        yield run


@asynccontextmanager
async def baseline_server(
    module: str,
    workdir: Path,
    *,
    core: int | None,
    args: Sequence[str] = (),
    with_database: bool = True,
) -> AsyncIterator[tuple[str, int]]:
    """Serve a baseline (``python -m module --port P [--database-url URL] *args``), on a
    fresh database when it keeps one, pinned to ``core``; yields its URL and pid."""
    async with AsyncExitStack() as stack:
        port = free_port()
        command = [sys.executable, "-m", module, "--port", str(port), *args]
        if with_database:
            postgres = os.environ.get("BENCH_POSTGRES_URL", LOCAL_POSTGRES)
            database = await stack.enter_async_context(bench_database(postgres, "bench_baseline"))
            command += ["--database-url", database]
        log = workdir / f"{module.rsplit('.', 1)[-1]}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*taskset(core), *command], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            url = f"http://127.0.0.1:{port}"
            await _wait_ready(url, process, log)
            yield url, process.pid
        finally:
            await asyncio.to_thread(stop_process, process)
