"""Chat: messages stored per second and send -> delivered-to-every-member latency, in
chats of 2, 10 and 100 members, on PostgreSQL.

chat_service and the baseline (seed 000's design, bench/baseline/chat_server.py) run
pinned to the same core; the clients run in this process, pinned to the other core when
there is one. Both get the same workload over seed 000's per-chat socket
``/ws/chat/{chat_id}``, every member connected:

- closed loop: 16 senders spread over the chats of that size, each sending its next
  message once every member has its last one; the rate is what the database holds
  afterwards (counted there) over the time taken, the deliveries what the members read;
- open loop, both at half the smaller of the two maxima (a load both carry, so the
  latencies compare like with like), and each at half its own maximum (the target:
  p99 under 100 ms there).

The CPU each server used per stored message is in the JSON (server_cpu_ms_per_message):
on a shared machine it says more than the rates, which depend on the core's share.

chat_service's per-socket frame rate limit and sockets-per-user cap are raised
(CHAT_WS_*) so that they do not throttle a benchmark client. The baseline checks no token
(the socket names its user in the query), which favours it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass

import httpx
import psutil

from bench.chat_load import Load, Room, Tracker
from bench.chat_targets import Baseline, ChatTarget, Ours, User, make_users
from bench.report import Row
from bench.suite import baseline_server, suite

BENCHMARK = "chat"
SERVER_CORE, CLIENT_CORE = 0, 1
# Chats of each size in one run; 16 senders in all, spread evenly over them.
CHATS = {2: 8, 10: 4, 100: 1}
SENDERS = 16
RAISED_LIMITS = {
    "CHAT_WS_FRAMES_PER_SECOND": "1000000",
    "CHAT_WS_FRAME_BURST": "1000000",
    "CHAT_WS_MAX_SOCKETS_PER_USER": "1000",
}


@dataclass(frozen=True)
class Workload:
    warmup: float  # seconds of closed loop before measuring
    closed: float  # seconds of closed loop measured
    open: float  # seconds of each open-loop run


FULL = Workload(warmup=1.0, closed=8.0, open=8.0)
QUICK = Workload(warmup=0.3, closed=1.0, open=1.0)


class CpuMeter:
    """Share of one core a process used since the last reading."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._last = self._read()

    def _read(self) -> tuple[float, float]:
        times = self._process.cpu_times()
        return times.user + times.system, time.monotonic()

    def share(self) -> float:
        (cpu0, wall0), (cpu1, wall1) = self._last, self._read()
        self._last = (cpu1, wall1)
        return round((cpu1 - cpu0) / max(wall1 - wall0, 1e-9), 2)


def _summary(tracker: Tracker) -> dict[str, object]:
    return {
        "sent": tracker.sent,
        "delivered": tracker.delivered,
        "undelivered": len(tracker.pending),
        "latency_ms": tracker.latency.summary(),
    }


class Contender:
    """One server with the chats of one size, every member connected."""

    def __init__(self, load: Load, server_pid: int) -> None:
        self.load = load
        self.senders = load.senders(SENDERS // len(load.rooms))
        self._server, self._client = CpuMeter(server_pid), CpuMeter(os.getpid())
        self.persisted_per_second = self.deliveries_per_second = 0.0
        self.open: dict[float, Tracker] = {}
        self.parameters: dict[str, object] = {}

    @property
    def max_rate(self) -> float:
        return self.persisted_per_second

    def _cpu(self) -> dict[str, float]:
        return {"server_cpu": self._server.share(), "client_cpu": self._client.share()}

    async def saturate(self, workload: Workload) -> None:
        """Closed loop: the stored rate is what the database holds afterwards."""
        await self.load.closed_loop(self.senders, workload.warmup)
        before = await self.load.stored()
        self._cpu()
        tracker, seconds = await self.load.closed_loop(self.senders, workload.closed)
        stored = await self.load.stored() - before
        self.persisted_per_second = stored / seconds
        self.deliveries_per_second = tracker.frames / seconds
        cpu = self._cpu()
        self.parameters["closed_loop"] = {
            "senders": len(self.senders),
            "seconds": round(seconds, 2),
            "stored": stored,
            "server_cpu_ms_per_message": round(cpu["server_cpu"] * seconds * 1000 / stored, 2),
            **cpu,
            **_summary(tracker),
        }

    async def at_rate(self, rate: float, seconds: float) -> None:
        self._cpu()
        tracker = self.open[rate] = await self.load.open_loop(self.senders, rate, seconds)
        self.parameters[f"open_loop_{rate:.0f}_per_second"] = {**self._cpu(), **_summary(tracker)}
        if self.load.closed_early:
            self.parameters["sockets_closed_early"] = self.load.closed_early


async def contender(
    stack: AsyncExitStack, target: ChatTarget, server_pid: int, users: list[User], size: int
) -> Contender:
    rooms = []
    for number in range(CHATS[size]):
        members = users[number * size : (number + 1) * size]
        rooms.append(Room(await target.create_chat(members[0], members[1:]), members))
    return Contender(await stack.enter_async_context(Load(target, rooms)), server_pid)


def _latency_rows(
    size: int, rate: float, ours: Tracker, baseline: Tracker | None, note: str
) -> list[Row]:
    missing = len(ours.pending) + (0 if baseline is None else len(baseline.pending))
    if missing:
        note += f"; {missing} undelivered"
    return [
        Row(
            BENCHMARK,
            f"{size} members: send -> all delivered {percentile} at {rate:,.0f} msg/s",
            "ms",
            ours.latency.summary()[percentile],
            None if baseline is None else baseline.latency.summary()[percentile],
            higher_is_better=False,
            note=note,
        )
        for percentile in ("p50", "p99", "p99.9")
    ]


def rows_for(size: int, ours: Contender, baseline: Contender, common: float) -> list[Row]:
    half_ours = ours.max_rate / 2
    target = "target p99 < 100 ms at half our max"
    rows = [
        Row(
            BENCHMARK,
            f"{size} members: persisted messages/s",
            "msg/s",
            ours.persisted_per_second,
            baseline.persisted_per_second,
            note=f"closed loop, {SENDERS} senders; target 10x",
        ),
        Row(
            BENCHMARK,
            f"{size} members: deliveries/s",
            "frames/s",
            ours.deliveries_per_second,
            baseline.deliveries_per_second,
            note="same closed loop",
        ),
        *_latency_rows(
            size,
            common,
            ours.open[common],
            baseline.open[common],
            "half the smaller max, both" + ("; " + target if common == half_ours else ""),
        ),
    ]
    if common != half_ours:
        rows += _latency_rows(size, half_ours, ours.open[half_ours], None, target)
    return rows


@contextmanager
def pinned(core: int) -> Iterator[None]:
    """Run this thread (the clients' event loop) on ``core``, away from the servers."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) <= core:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


async def run(quick: bool) -> tuple[list[Row], dict[str, object]]:
    workload = QUICK if quick else FULL
    users_needed = max(size * chats for size, chats in CHATS.items())
    rows: list[Row] = []
    parameters: dict[str, object] = {
        "workload": workload.__dict__,
        "chats_per_size": CHATS,
        "senders": SENDERS,
        "raised_limits": RAISED_LIMITS,
    }
    async with AsyncExitStack() as stack:
        run_ = await stack.enter_async_context(
            suite(
                ("auth_service", "chat_service"),
                cores={"chat_service": SERVER_CORE},
                env=RAISED_LIMITS,
            )
        )
        baseline_url, baseline_pid = await stack.enter_async_context(
            baseline_server("bench.baseline.chat_server", run_.workdir, core=SERVER_CORE)
        )
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        users = await make_users(run_.url("auth_service"), users_needed)
        ours_target = Ours(run_.url("chat_service"), client)
        baseline_target = Baseline(baseline_url, client)
        with pinned(CLIENT_CORE):
            for size in CHATS:
                async with AsyncExitStack() as connected:
                    baseline = await contender(
                        connected, baseline_target, baseline_pid, users, size
                    )
                    ours = await contender(
                        connected, ours_target, run_.pid("chat_service"), users, size
                    )
                    for side in (baseline, ours):
                        await side.saturate(workload)
                    # Both below their maximum: the latencies compare like with like.
                    common = min(ours.max_rate, baseline.max_rate) / 2
                    for side in (baseline, ours):
                        for rate in dict.fromkeys([common, side.max_rate / 2]):
                            await side.at_rate(rate, workload.open)
                rows += rows_for(size, ours, baseline, common)
                parameters[f"{size}_members"] = {
                    "ours": ours.parameters,
                    "baseline": baseline.parameters,
                }
                print(
                    f"{size} members: {ours.max_rate:,.0f} msg/s stored, "
                    f"baseline {baseline.max_rate:,.0f}",
                    flush=True,
                )
    return rows, parameters
