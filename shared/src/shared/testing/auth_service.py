"""The real auth_service for other services' tests, run as a subprocess.

``auth_service_url`` (session scope) migrates a fresh PostgreSQL database, serves
auth_service on a free port and yields its base URL; ``register_and_login`` makes a user
there and returns their tokens (``register_many``, several); ``auth_signing_key`` is the
key it signs with, for tests that need special tokens; ``auth_service_process`` runs
another one with other settings.
auth_service is never imported here: other services depend on its HTTP contract, not its
code.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from uuid import UUID, uuid4

import httpx
import pytest

from shared.auth.tokens import SigningKey, issue_token
from shared.devbroker import free_port
from shared.testing.services import fresh_database

T = TypeVar("T")

# Every suite logs in from 127.0.0.1 many times: throttling must not get in its way.
GENEROUS_THROTTLING = {
    "AUTH_LOGIN_MAX_FAILURES_PER_ACCOUNT": "1000",
    "AUTH_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES": "1000",
    "AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
    "AUTH_REGISTRATIONS_PER_ADDRESS": "1000000",
}


@dataclass(frozen=True)
class AuthUser:
    id: UUID
    email: str
    password: str
    display_name: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register_and_login(
    base_url: str,
    *,
    email: str | None = None,
    password: str | None = None,
    display_name: str | None = None,
) -> AuthUser:
    """Register a user (a unique email unless given) and log in; returns their tokens."""
    suffix = uuid4().hex[:12]
    email = email or f"user-{suffix}@example.com"
    password = password or f"pw-{uuid4().hex}"
    display_name = display_name or f"User {suffix}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        registered = await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": password, "display_name": display_name},
        )
        if registered.status_code != 201:
            raise RuntimeError(f"register failed: {registered.status_code} {registered.text}")
        logged_in = await client.post(
            "/api/v1/auth/login", data={"username": email, "password": password}
        )
        if logged_in.status_code != 200:
            raise RuntimeError(f"login failed: {logged_in.status_code} {logged_in.text}")
    user, tokens = registered.json(), logged_in.json()
    return AuthUser(
        id=UUID(user["id"]),
        email=user["email"],
        password=password,
        display_name=user["display_name"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


async def register_many(
    base_url: str, display_names: Sequence[str], *, concurrency: int = 4
) -> list[AuthUser]:
    """``register_and_login`` for each name, a few at a time (each is two argon2id
    hashes), in the names' order."""
    limit = asyncio.Semaphore(concurrency)

    async def one(name: str) -> AuthUser:
        async with limit:
            return await register_and_login(base_url, display_name=name)

    return list(await asyncio.gather(*(one(name) for name in display_names)))


def sign_access_token(
    key: SigningKey, user_id: UUID, name: str, *, superuser: bool = False, ttl: int = 3600
) -> str:
    """An access token as auth_service issues them (its key, issuer, audience and claims),
    for users that need no account there."""
    token, _ = issue_token(
        key,
        token_type="access",
        subject=user_id,
        session_id=uuid4(),
        issuer="auth_service",
        audience="suite",
        ttl_seconds=ttl,
        extra={"email": f"{name.lower()}@example.com", "name": name, "su": superuser},
        now=time.time(),
    )
    return token


class _LoopThread:
    """An event loop in a thread of its own, for async set-up in a sync fixture without
    touching the loop pytest-asyncio runs the tests in."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, factory: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
        async def call() -> T:
            return await factory()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return future.result(timeout)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_healthy(
    base_url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"auth_service exited with code {process.returncode}:\n{_log_tail(log_path)}"
                )
            try:
                if client.get(base_url + "/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"auth_service did not become healthy:\n{_log_tail(log_path)}")


@contextmanager
def auth_service_process(
    *,
    postgres_server_url: str,
    kafka_bootstrap: str,
    workdir: Path,
    signing_key_path: Path | None = None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run auth_service (migrated, its own fresh database) until the block ends; yields
    its base URL. ``settings`` are extra ``AUTH_*`` variables, for instance a short
    ``AUTH_ACCESS_TOKEN_TTL_SECONDS``."""
    log_path = workdir / "auth_service.log"
    port = free_port()
    loop = _LoopThread()
    database = fresh_database(postgres_server_url, "auth_fixture")
    database_url = loop.run(database.__aenter__)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    env.update(
        {
            "AUTH_ENVIRONMENT": "test",
            "AUTH_HOST": "127.0.0.1",
            "AUTH_PORT": str(port),
            "AUTH_DATABASE_URL": database_url,
            "AUTH_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "AUTH_SIGNING_KEY_PATH": str(signing_key_path or workdir / "signing_key.pem"),
            "AUTH_LOG_LEVEL": "WARNING",
            **GENEROUS_THROTTLING,
            **(settings or {}),
        }
    )
    process: subprocess.Popen[bytes] | None = None
    try:
        with log_path.open("ab") as log:
            migrated = subprocess.run(
                [sys.executable, "-m", "auth_service", "migrate"],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
            if migrated.returncode != 0:
                raise RuntimeError(f"auth_service migrate failed:\n{_log_tail(log_path)}")
            process = subprocess.Popen(
                [sys.executable, "-m", "auth_service", "serve"],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url, process, log_path)
        yield base_url
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        loop.run(lambda: database.__aexit__(None, None, None))
        loop.close()


@pytest.fixture(scope="session")
def auth_signing_key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The private key the session's auth_service signs with (created up front)."""
    path = tmp_path_factory.mktemp("auth_key") / "signing_key.pem"
    SigningKey.load_or_create(path)
    return path


@pytest.fixture(scope="session")
def auth_signing_key(auth_signing_key_path: Path) -> SigningKey:
    """auth_service's signing key, for tests that mint special tokens (an expired one,
    one about to expire) with ``shared.auth.tokens.issue_token``."""
    return SigningKey.from_pem(auth_signing_key_path.read_bytes())


@pytest.fixture(scope="session")
def auth_service_url(
    postgres_server_url: str,
    kafka_bootstrap: str,
    auth_signing_key_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Base URL of a real auth_service (its own PostgreSQL database) for the session."""
    with auth_service_process(
        postgres_server_url=postgres_server_url,
        kafka_bootstrap=kafka_bootstrap,
        workdir=tmp_path_factory.mktemp("auth_service"),
        signing_key_path=auth_signing_key_path,
    ) as base_url:
        yield base_url
