"""Orders created and transitioned per second, over the socket and REST, on PostgreSQL.

Several clients in closed loop: first each creates orders for a while, then walks every
order it created through paid -> shipped -> delivered, one request at a time. Orders are
anonymous (the seed's flow), so every change is broadcast to every client, which reads
it. orders_service and the baseline (seed 003's design, bench/baseline/orders_server.py)
run pinned to the same core and get the same socket workload; the seed has no REST, so
REST has no baseline. orders_service's per-socket frame rate limit is raised so that it
does not cap a benchmark client.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import psutil
from websockets.asyncio.client import connect

from bench.closed_loop import Throughput, closed_loop
from bench.latency import Latency
from bench.orders_clients import OrdersClient, OrderWalker, RestClient, SocketClient
from bench.report import Row
from bench.suite import baseline_server, suite

CORE = 0
BENCHMARK = "orders"
RAISED_LIMITS = {"ORDERS_FRAMES_PER_SECOND": "1000000", "ORDERS_FRAME_BURST": "1000000"}
# A broadcast channel of this run's own: other instances on the same Redis stay out.
CHANNEL = {"ORDERS_REDIS_CHANNEL": f"bench-orders-{uuid.uuid4().hex[:8]}"}


@dataclass(frozen=True)
class Workload:
    clients: int
    seconds: float  # per phase: creating, then transitioning


@dataclass(frozen=True)
class Measured:
    created: Throughput
    transitioned: Throughput
    latency: Latency  # of one transition, request -> reply, under the closed loop
    # Broadcast frames the clients read (over both phases, and until they stopped
    # coming), and how many they should have: every change reaches every client.
    broadcasts: int
    expected_broadcasts: int
    server_cpu: float  # CPU seconds the server used over both phases

    @property
    def seconds(self) -> float:
        return self.created.seconds + self.transitioned.seconds

    @property
    def cpu_ms_per_change(self) -> float:
        """Server CPU per order created or transitioned: a cost contention barely moves."""
        changes = self.created.succeeded + self.transitioned.succeeded
        return 1000 * self.server_cpu / max(changes, 1)

    def parameters(self) -> dict[str, object]:
        seconds = self.seconds
        return {
            "created": self.created.succeeded,
            "transitions": self.transitioned.succeeded,
            "failed": self.created.failed + self.transitioned.failed,
            "broadcasts": {"expected": self.expected_broadcasts, "received": self.broadcasts},
            "transition_latency_ms": self.latency.summary(),
            "server_cpu_share": round(self.server_cpu / seconds, 2),
            "server_cpu_ms_per_change": round(self.cpu_ms_per_change, 2),
        }


async def _measure(clients: Sequence[OrdersClient], seconds: float, pid: int) -> Measured:
    walkers = [OrderWalker(c, f"client {i}") for i, c in enumerate(clients)]
    server = psutil.Process(pid)
    cpu_before = sum(server.cpu_times()[:2])
    created = await closed_loop([w.create for w in walkers], seconds)
    latency = Latency()
    transitioned = await closed_loop([w.transition for w in walkers], seconds, latency)
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    sockets = [c for c in clients if isinstance(c, SocketClient)]
    await asyncio.gather(*(s.drain(quiet=1.0) for s in sockets))
    changes = created.succeeded + transitioned.succeeded
    broadcasts = sum(s.broadcasts for s in sockets)
    return Measured(created, transitioned, latency, broadcasts, changes * len(sockets), cpu)


async def over_sockets(ws_url: str, workload: Workload, pid: int) -> Measured:
    async with AsyncExitStack() as stack:
        clients = [
            SocketClient(
                await stack.enter_async_context(connect(ws_url + "/ws/orders", compression=None))
            )
            for _ in range(workload.clients)
        ]
        return await _measure(clients, workload.seconds, pid)


async def over_rest(url: str, workload: Workload, pid: int) -> Measured:
    limits = httpx.Limits(max_connections=workload.clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        clients = [RestClient(http) for _ in range(workload.clients)]
        return await _measure(clients, workload.seconds, pid)


def _rows(transport: str, ours: Measured, baseline: Measured | None, note: str) -> list[Row]:
    def rate(metric: str, pick: str) -> Row:
        theirs = None if baseline is None else getattr(baseline, pick).per_second
        value = getattr(ours, pick).per_second
        return Row(BENCHMARK, f"{transport} {metric}", "/s", value, theirs, note=note)

    def latency(percentile: float) -> Row:
        theirs = None if baseline is None else baseline.latency.percentile_ms(percentile)
        return Row(
            BENCHMARK,
            f"{transport} transition p{percentile:g}",
            "ms",
            ours.latency.percentile_ms(percentile),
            theirs,
            higher_is_better=False,
            note="request -> reply under the closed loop above",
        )

    return [
        rate("orders created", "created"),
        rate("transitions", "transitioned"),
        latency(50),
        latency(99),
        Row(
            BENCHMARK,
            f"{transport} server CPU per change",
            "ms",
            ours.cpu_ms_per_change,
            None if baseline is None else baseline.cpu_ms_per_change,
            higher_is_better=False,
            note="CPU time of the server process / orders created or transitioned",
        ),
    ]


async def run(quick: bool) -> tuple[list[Row], dict[str, object]]:
    workload = Workload(clients=4, seconds=3) if quick else Workload(clients=8, seconds=20)
    async with suite(
        ("orders_service",), cores={"orders_service": CORE}, env=RAISED_LIMITS | CHANNEL
    ) as s:
        pid = s.pid("orders_service")
        ours_ws = await over_sockets(s.ws_url("orders_service"), workload, pid)
        ours_rest = await over_rest(s.url("orders_service"), workload, pid)
        async with baseline_server("bench.baseline.orders_server", s.workdir, core=CORE) as (
            url,
            baseline_pid,
        ):
            base_ws = await over_sockets(url.replace("http://", "ws://", 1), workload, baseline_pid)
    shared_note = f"{workload.clients} clients, server on core {CORE}, PostgreSQL"
    ws_note = (
        f"{shared_note}; ORDERS_FRAMES_PER_SECOND and ORDERS_FRAME_BURST raised; "
        "baseline: seed 003's design (no outbox, no Kafka)"
    )
    rows = [
        *_rows("WS", ours_ws, base_ws, ws_note),
        *_rows("REST", ours_rest, None, f"{shared_note}; the seed has no REST"),
    ]
    parameters: dict[str, object] = {
        "clients": workload.clients,
        "seconds_per_phase": workload.seconds,
        "core": CORE,
        "orders_env": RAISED_LIMITS,
        "ws": ours_ws.parameters(),
        "rest": ours_rest.parameters(),
        "baseline_ws": base_ws.parameters(),
    }
    return rows, parameters
