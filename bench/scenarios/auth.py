"""Auth: logins, refreshes and token checks per second, and the gateway's handshakes with
and without its token cache.

Logins are bounded by argon2id at auth_service's parameters (OWASP's minimum), so the
time of one hash on this machine is reported beside them. The gateway
(notify_ws_service, pinned to one core) is measured twice, one instance after the other,
against the same auth_service: with its default token cache, then with
``NOTIFY_AUTH_CACHE_TTL=0`` (every handshake asks auth_service again; concurrent checks
of one token still share one call), which goes in the baseline column. A few clients
sharing a few tokens open sockets and close them again; how often auth_service was asked
comes from its /metrics (requests to /verify) and from the gateway's own counter.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from auth_service.config import Settings as AuthSettings
from bench.auth_load import (
    VERIFY_ROUTE,
    RefreshChain,
    argon2_hash_seconds,
    counter,
    handshake,
    login,
    refresh_token,
    verify,
)
from bench.closed_loop import Throughput, closed_loop
from bench.report import Row
from bench.suite import Suite, suite
from shared.testing.auth_service import AuthUser, register_and_login

BENCHMARK = "auth"
CORE = 0
CACHE_OFF = {"NOTIFY_AUTH_CACHE_TTL": "0", "NOTIFY_AUTH_NEGATIVE_CACHE_TTL": "0"}


@dataclass(frozen=True)
class Workload:
    clients: int
    seconds: float
    tokens: int
    argon2_rounds: int


@dataclass(frozen=True)
class Handshakes:
    throughput: Throughput
    verify_requests: float  # what auth_service counted on /verify
    gateway_calls: float  # what the gateway counted as calls to auth_service

    @property
    def calls_per_thousand(self) -> float:
        return 1000 * self.verify_requests / max(self.throughput.succeeded, 1)

    def parameters(self) -> dict[str, object]:
        return {
            "handshakes": self.throughput.succeeded,
            "refused": self.throughput.failed,
            "seconds": round(self.throughput.seconds, 2),
            "verify_requests_seen_by_auth": self.verify_requests,
            "auth_calls_counted_by_gateway": self.gateway_calls,
        }


def _argon2() -> dict[str, int]:
    # The defaults auth_service runs with here (the suite does not override them).
    fields = AuthSettings.model_fields
    return {
        "memory_kib": int(fields["argon2_memory_kib"].default),
        "time_cost": int(fields["argon2_time_cost"].default),
        "parallelism": int(fields["argon2_parallelism"].default),
        "hash_concurrency": int(fields["password_hash_concurrency"].default),
    }


async def gateway_handshakes(
    auth_suite: Suite, users: list[AuthUser], workload: Workload, env: dict[str, str]
) -> Handshakes:
    """Start a gateway with ``env`` on the core and open sockets to it."""
    async with (
        suite(("notify_ws_service",), cores={"notify_ws_service": CORE}, env=env) as s,
        httpx.AsyncClient(base_url=auth_suite.url("auth_service"), timeout=30) as auth,
        httpx.AsyncClient(base_url=s.url("notify_ws_service"), timeout=30) as gateway,
    ):
        ws_url = s.ws_url("notify_ws_service")
        tokens = [users[i % len(users)].access_token for i in range(workload.clients)]
        steps = [handshake(ws_url, token) for token in tokens]

        async def counts() -> tuple[float, float]:
            return (
                await counter(auth, "http_requests", route=VERIFY_ROUTE),
                await counter(gateway, "notify_auth_calls"),
            )

        verify_before, gateway_before = await counts()
        throughput = await closed_loop(steps, workload.seconds)
        verify_after, gateway_after = await counts()
    return Handshakes(throughput, verify_after - verify_before, gateway_after - gateway_before)


async def auth_endpoints(
    s: Suite, users: list[AuthUser], workload: Workload
) -> dict[str, Throughput]:
    limits = httpx.Limits(max_connections=workload.clients)
    async with httpx.AsyncClient(base_url=s.url("auth_service"), limits=limits, timeout=60) as http:
        picked = [users[i % len(users)] for i in range(workload.clients)]
        logins = await closed_loop([login(http, u) for u in picked], workload.seconds)
        chains = [RefreshChain(http, await refresh_token(http, u)) for u in picked]
        refreshes = await closed_loop([c.step for c in chains], workload.seconds)
        checks = await closed_loop([verify(http, u.access_token) for u in picked], workload.seconds)
    return {"login": logins, "refresh": refreshes, "verify": checks}


async def run(quick: bool) -> tuple[list[Row], dict[str, object]]:
    workload = (
        Workload(clients=4, seconds=3, tokens=2, argon2_rounds=3)
        if quick
        else Workload(clients=8, seconds=15, tokens=4, argon2_rounds=10)
    )
    argon2 = _argon2()
    hash_ms = 1000 * argon2_hash_seconds(
        memory_kib=argon2["memory_kib"],
        time_cost=argon2["time_cost"],
        parallelism=argon2["parallelism"],
        rounds=workload.argon2_rounds,
    )
    async with suite(("auth_service",)) as s:
        users = [await register_and_login(s.url("auth_service")) for _ in range(workload.tokens)]
        rates = await auth_endpoints(s, users, workload)
        # One gateway at a time on the core, each asking the same auth_service.
        gateway_env = {"NOTIFY_AUTH_URL": s.url("auth_service")}
        cached = await gateway_handshakes(s, users, workload, gateway_env)
        uncached = await gateway_handshakes(s, users, workload, gateway_env | CACHE_OFF)

    params = (
        f"argon2id m={argon2['memory_kib']} KiB, t={argon2['time_cost']}, "
        f"p={argon2['parallelism']} (OWASP minimum)"
    )
    clients = f"{workload.clients} clients"
    gateway = (
        f"{clients}, {workload.tokens} tokens, gateway on core {CORE}; "
        "baseline: NOTIFY_AUTH_CACHE_TTL=0"
    )
    rows = [
        Row(
            BENCHMARK,
            "logins",
            "/s",
            rates["login"].per_second,
            note=f"{clients}; bounded by {params}, {argon2['hash_concurrency']} hashes at once",
        ),
        Row(
            BENCHMARK,
            "argon2id hash",
            "ms",
            hash_ms,
            higher_is_better=False,
            note=f"{params}; one thread: logins/s <= cores x 1000 / this",
        ),
        Row(BENCHMARK, "refreshes", "/s", rates["refresh"].per_second, note=f"{clients}, rotation"),
        Row(BENCHMARK, "/verify direct", "/s", rates["verify"].per_second, note=clients),
        Row(
            BENCHMARK,
            "gateway handshakes",
            "/s",
            cached.throughput.per_second,
            uncached.throughput.per_second,
            note=gateway,
        ),
        Row(
            BENCHMARK,
            "/verify per 1000 handshakes",
            "calls",
            cached.calls_per_thousand,
            uncached.calls_per_thousand,
            higher_is_better=False,
            note=f"{gateway}; counted by auth_service",
        ),
    ]
    parameters: dict[str, object] = {
        "clients": workload.clients,
        "seconds_per_phase": workload.seconds,
        "tokens": workload.tokens,
        "argon2": argon2,
        "failed": {name: t.failed for name, t in rates.items()},
        "gateway_cache_on": cached.parameters(),
        "gateway_cache_off": uncached.parameters() | {"env": CACHE_OFF},
    }
    return rows, parameters
