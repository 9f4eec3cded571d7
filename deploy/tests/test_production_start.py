"""The suite starts the way the containers start it: the image's commands, with the
environment docker-compose gives each service, against real PostgreSQL, Redis and a
broker, and then does seed 004's walkthrough. Only addresses change (compose's host
names become this machine's), and idempotence is off because the local broker lacks it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import websockets
from aiokafka import AIOKafkaProducer
from deploycheck import (
    REPO,
    SERVICES,
    Service,
    dockerfile_env,
    interpolated_environment,
    load_yaml,
)

from shared.devbroker import free_port
from shared.events.topics import NOTIFICATION_SEND
from shared.testing.services import fresh_database

pytestmark = pytest.mark.timeout(240)


_REDIS_PREFIX_SETTING = {
    "auth_service": "REDIS_KEY_PREFIX",
    "notify_ws_service": "REDIS_PREFIX",
    "chat_service": "REDIS_CHANNEL_PREFIX",
}


def _service_env(
    service: Service,
    compose_env: dict[str, str],
    *,
    database_url: str,
    redis_url: str,
    kafka: str,
    ports: dict[str, int],
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(service.prefix)}
    env.update(compose_env)
    p = service.prefix
    env.update(
        {
            f"{p}HOST": "127.0.0.1",
            f"{p}PORT": str(ports[service.package]),
            f"{p}DATABASE_URL": database_url,
            f"{p}REDIS_URL": redis_url,
            f"{p}KAFKA_BOOTSTRAP_SERVERS": kafka,
            f"{p}KAFKA_ENABLE_IDEMPOTENCE": "false",
            f"{p}AUTH_URL": f"http://127.0.0.1:{ports['auth_service']}",
        }
    )
    # The local Redis outlives test runs: fresh keys keep one run's throttling counters
    # (registrations per address, say) from refusing the next run.
    if name := _REDIS_PREFIX_SETTING.get(service.package):
        env[p + name] = f"{uuid.uuid4().hex[:8]}:{env.get(p + name, '')}"
    return env


async def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        with suppress(OSError):
            response = await asyncio.to_thread(urllib.request.urlopen, url, timeout=2)
            if response.status == 200:
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{url} was not ready within {timeout:.0f}s")


async def _seed_004_walkthrough(ports: dict[str, int], kafka: str) -> None:
    """deploy/README.md's steps 3-6: a real token, a socket, the seed's record, its frame."""
    auth = f"http://127.0.0.1:{ports['auth_service']}"
    email, password = f"viewer-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
    async with httpx.AsyncClient(timeout=30) as client:
        registered = await client.post(
            f"{auth}/api/v1/auth/register",
            json={"email": email, "password": password, "display_name": "Viewer"},
        )
        assert registered.status_code == 201, registered.text
        login = await client.post(
            f"{auth}/api/v1/auth/login", data={"username": email, "password": password}
        )
        token = login.json()["access_token"]
        me = await client.get(
            f"{auth}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        user_id = me.json()["id"]
    gateway = f"ws://127.0.0.1:{ports['notify_ws_service']}/api/v1/notify/ws?token={token}"
    async with websockets.connect(gateway) as socket:
        producer = AIOKafkaProducer(bootstrap_servers=kafka)
        await producer.start()
        try:
            record = {
                "message_id": str(uuid.uuid4()),
                "delivery_method": "push",
                "user_id": user_id,
                "subject": "Новый фильм",
                "content": "Фильм 'Как закалялась сталь' теперь доступен для просмотра",
            }
            await producer.send_and_wait(NOTIFICATION_SEND, json.dumps(record).encode())
        finally:
            await producer.stop()
        # Generous: the gateway may still be joining its consumer group.
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=90))
    assert frame == {"title": record["subject"], "body": record["content"]}


async def test_suite_starts_in_production_and_runs_the_seed_004_walkthrough(
    postgres_server_url: str,
    redis_url: str,
    kafka_bootstrap: str,
    compose_secrets: dict[str, str],
    tmp_path: Path,
) -> None:
    compose = load_yaml(REPO / "docker-compose.yml")
    ports = {s.package: free_port() for s in SERVICES}
    processes: list[subprocess.Popen[bytes]] = []
    logs: dict[str, IO[bytes]] = {}
    async with AsyncExitStack() as stack:
        envs: dict[str, dict[str, str]] = {}
        for service in SERVICES:
            image_env = dockerfile_env(REPO / service.package / "Dockerfile")
            compose_env = {
                **{k: v for k, v in image_env.items() if k.startswith(service.prefix)},
                **interpolated_environment(compose["services"][service.package], compose_secrets),
            }
            database = await stack.enter_async_context(
                fresh_database(postgres_server_url, f"deploy_{service.package}")
            )
            envs[service.package] = _service_env(
                service,
                compose_env,
                database_url=database,
                redis_url=redis_url,
                kafka=kafka_bootstrap,
                ports=ports,
            )

        async def migrate(service: Service) -> None:
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", service.package, "migrate"],
                env=envs[service.package],
                cwd=tmp_path,
                capture_output=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr.decode()[-2000:]

        # The migration jobs, then the services; each pair in parallel, as compose
        # starts whatever has its dependencies met.
        await asyncio.gather(*(migrate(s) for s in SERVICES))
        try:
            for service in SERVICES:
                log = (tmp_path / f"{service.package}.log").open("w+b")
                logs[service.package] = log
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", service.package, "serve"],
                        env=envs[service.package],
                        cwd=tmp_path,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            await asyncio.gather(
                *(
                    _wait_ready(f"http://127.0.0.1:{ports[s.package]}/readyz", process, timeout=90)
                    for s, process in zip(SERVICES, processes, strict=True)
                )
            )
            await _seed_004_walkthrough(ports, kafka_bootstrap)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    await asyncio.to_thread(process.wait, 20)
                except subprocess.TimeoutExpired:
                    process.kill()

    # A PEM is matched by its first line of key material.
    needles = [v.splitlines()[1] if "\n" in v else v for v in compose_secrets.values()]
    for package, handle in logs.items():
        handle.seek(0)
        lines = [line for line in handle.read().decode().splitlines() if line.strip()]
        handle.close()
        assert lines, f"{package} logged nothing"
        parsed: list[Any] = []
        for line in lines:
            with suppress(ValueError):
                parsed.append(json.loads(line))
        # LOG_JSON=true: the service's own events are JSON lines.
        assert parsed, f"{package} wrote no JSON log line:\n" + "\n".join(lines[:5])
        for line in lines:
            assert not any(needle in line for needle in needles), f"{package} logged a secret"
