"""Services as real processes a fault scenario can SIGKILL and start again.

Unlike :mod:`bench.suite`, a :class:`ServiceProcess` keeps its port, database and
settings across restarts (auth_service coming back at the same address with the same
users), and several gateway instances can share one database and consumer group.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.devbroker import free_port
from shared.testing.auth_service import GENEROUS_THROTTLING

PREFIXES = {"auth_service": "AUTH_", "notify_ws_service": "NOTIFY_"}


@dataclass
class ServiceProcess:
    """``python -m <module> serve`` on a fixed port with fixed settings."""

    module: str
    settings: Mapping[str, str]
    log: Path
    ready_path: str = "/readyz"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.module} is not running"
        return self.process.pid

    def _env(self) -> dict[str, str]:
        prefix = PREFIXES[self.module]
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
        values = {"HOST": "127.0.0.1", "PORT": str(self.port), **self.settings}
        env.update({prefix + k: v for k, v in values.items()})
        return env

    def _run(self, command: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", self.module, command],
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def migrate(self) -> None:
        migration = self._run("migrate")
        if await asyncio.to_thread(migration.wait, 120) != 0:
            raise RuntimeError(f"{self.module} migrate failed:\n{self.log_tail()}")

    async def start(self, *, timeout: float = 90) -> None:
        self.process = self._run("serve")
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.module} exited:\n{self.log_tail()}")
                with suppress(httpx.TransportError):
                    if (await client.get(self.url + self.ready_path)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.module} was not ready in time:\n{self.log_tail()}")

    async def kill(self) -> None:
        """SIGKILL: no drain, no commit, no close frames."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.process.wait)

    async def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            await self.kill()

    def log_tail(self, lines: int = 40) -> str:
        with suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@asynccontextmanager
async def running(*services: ServiceProcess) -> AsyncIterator[None]:
    """Start the services in order; stop (or reap the killed) ones at the end."""
    try:
        for service in services:
            await service.start()
        yield
    finally:
        for service in reversed(services):
            await service.stop()


def auth_service(
    *, database_url: str, kafka_bootstrap: str, signing_key: Path, log: Path
) -> ServiceProcess:
    settings = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SIGNING_KEY_PATH": str(signing_key),
        "LOG_LEVEL": "WARNING",
        **{k.removeprefix("AUTH_"): v for k, v in GENEROUS_THROTTLING.items()},
    }
    return ServiceProcess("auth_service", settings, log, ready_path="/healthz")


@dataclass(frozen=True)
class GatewayFleet:
    """What every gateway instance of one scenario shares: database, topic, consumer
    group, Redis prefix and auth_service."""

    database_url: str
    kafka_bootstrap: str
    redis_url: str
    auth_url: str
    topic: str
    group: str
    redis_prefix: str
    workdir: Path

    def instance(self, name: str, **settings: str) -> ServiceProcess:
        values = {
            "ENVIRONMENT": "test",
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": self.redis_prefix,
            "AUTH_URL": self.auth_url,
            "NOTIFICATION_TOPIC": self.topic,
            "CONSUMER_GROUP": self.group,
            "CONSUME_DOMAIN_EVENTS": "false",
            "LOG_LEVEL": "WARNING",
            **settings,
        }
        return ServiceProcess("notify_ws_service", values, self.workdir / f"gateway-{name}.log")
