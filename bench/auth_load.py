"""Closed-loop steps against auth_service and the gateway's handshake, and the counters
that say how often the gateway asked auth_service."""

from __future__ import annotations

import time

import httpx
from argon2 import PasswordHasher, Type
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, WebSocketException

from bench.closed_loop import Step
from shared.testing.auth_service import AuthUser

VERIFY_ROUTE = "/api/v1/auth/verify"
NOTIFY_SOCKET = "/api/v1/notify/ws"


def login(http: httpx.AsyncClient, user: AuthUser) -> Step:
    form = {"username": user.email, "password": user.password}

    async def step() -> bool:
        return (await http.post("/api/v1/auth/login", data=form)).status_code == 200

    return step


async def refresh_token(http: httpx.AsyncClient, user: AuthUser) -> str:
    """A refresh token of a session of its own (a new login)."""
    response = await http.post(
        "/api/v1/auth/login", data={"username": user.email, "password": user.password}
    )
    response.raise_for_status()
    return str(response.json()["refresh_token"])


class RefreshChain:
    """One session's refresh tokens, each exchanged for the next (rotation)."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._token = token

    async def step(self) -> bool:
        response = await self._http.post(
            "/api/v1/auth/refresh", json={"refresh_token": self._token}
        )
        if response.status_code != 200:
            return False
        self._token = str(response.json()["refresh_token"])
        return True


def verify(http: httpx.AsyncClient, token: str) -> Step:
    headers = {"Authorization": f"Bearer {token}"}

    async def step() -> bool:
        return (await http.get(VERIFY_ROUTE, headers=headers)).status_code == 200

    return step


def handshake(ws_url: str, token: str) -> Step:
    """Open a notification socket and close it again; True when the gateway accepted it
    (our close echoed, not its 4401/1013/4429)."""
    url = f"{ws_url}{NOTIFY_SOCKET}?token={token}"

    async def step() -> bool:
        try:
            async with connect(url, compression=None, open_timeout=30) as socket:
                pass
        except (InvalidHandshake, WebSocketException, OSError, TimeoutError):
            return False
        return socket.close_code == 1000

    return step


async def counter(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The sum of a Prometheus counter's samples that carry ``labels``, from /metrics."""
    response = await http.get("/metrics")
    response.raise_for_status()
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == f"{name}_total" and labels.items() <= sample.labels.items()
    )


def argon2_hash_seconds(*, memory_kib: int, time_cost: int, parallelism: int, rounds: int) -> float:
    """Seconds one argon2id hash takes on one thread, with these parameters."""
    hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )
    started = time.perf_counter()
    for _ in range(rounds):
        hasher.hash("correct horse battery staple")
    return (time.perf_counter() - started) / rounds
