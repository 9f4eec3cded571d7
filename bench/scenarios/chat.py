"""Chat: messages stored per second and send -> delivered-to-every-member latency, in
chats of 2, 10 and 100 members, on PostgreSQL.

chat_service and the baseline (seed 000's design, bench/baseline/chat_server.py) run
pinned to the same core; the clients run in this process, pinned to the other core when
there is one. Both get the same workload over seed 000's per-chat socket
``/ws/chat/{chat_id}``, every member connected:

- closed loop: 16 senders spread over the chats of that size, each sending its next
  message once every member has its last one; the rate is what the database holds
  afterwards (counted there) over the time taken, the deliveries what the members read;
- open loop at half each server's own maximum (the target: p99 under 100 ms), and
  chat_service also at half the baseline's maximum, the same load the baseline got.

chat_service's per-socket frame rate limit and sockets-per-user cap are raised
(CHAT_WS_*) so that they do not throttle a benchmark client. The baseline checks no token
(the socket names its user in the query), which favours it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field

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
    registered: int  # users made through auth_service (the rest get signed tokens)


FULL = Workload(warmup=1.0, closed=8.0, open=8.0, registered=100)
QUICK = Workload(warmup=0.3, closed=1.0, open=1.0, registered=2)


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


@dataclass
class Measured:
    persisted_per_second: float
    deliveries_per_second: float
    open: dict[float, Tracker] = field(default_factory=dict)
    parameters: dict[str, object] = field(default_factory=dict)

    @property
    def max_rate(self) -> float:
        return self.persisted_per_second


def _summary(tracker: Tracker) -> dict[str, object]:
    return {
        "sent": tracker.sent,
        "delivered": tracker.delivered,
        "undelivered": len(tracker.pending),
        "latency_ms": tracker.latency.summary(),
    }


async def measure(
    target: ChatTarget,
    users: list[User],
    size: int,
    workload: Workload,
    *,
    server_pid: int,
    also_at: float | None = None,
) -> Measured:
    chats = CHATS[size]
    rooms = []
    for number in range(chats):
        members = users[number * size : (number + 1) * size]
        chat_id = await target.create_chat(members[0], members[1:])
        rooms.append(Room(chat_id, members))
    async with Load(target, rooms) as load:
        senders = load.senders(SENDERS // chats)
        await load.closed_loop(senders, workload.warmup)
        server, client = CpuMeter(server_pid), CpuMeter(os.getpid())
        before = await load.stored()
        closed, seconds = await load.closed_loop(senders, workload.closed)
        stored = await load.stored() - before
        result = Measured(stored / seconds, closed.frames / seconds)
        result.parameters["closed_loop"] = {
            "senders": len(senders),
            "seconds": round(seconds, 2),
            "stored": stored,
            "server_cpu": server.share(),
            "client_cpu": client.share(),
            **_summary(closed),
        }
        rates = [result.max_rate / 2] + ([also_at] if also_at else [])
        for rate in rates:
            tracker = await load.open_loop(senders, rate, workload.open)
            result.open[rate] = tracker
            result.parameters[f"open_loop_{rate:.0f}_per_second"] = {
                "server_cpu": server.share(),
                "client_cpu": client.share(),
                **_summary(tracker),
            }
        if load.closed_early:
            result.parameters["sockets_closed_early"] = load.closed_early
    return result


def _latency_rows(
    size: int, rate: float, ours: Tracker, baseline: Tracker | None, note: str
) -> list[Row]:
    rows = []
    for percentile in ("p50", "p99", "p99.9"):
        rows.append(
            Row(
                BENCHMARK,
                f"{size} members: send -> all delivered {percentile} at {rate:,.0f} msg/s",
                "ms",
                ours.latency.summary()[percentile],
                None if baseline is None else baseline.latency.summary()[percentile],
                higher_is_better=False,
                note=note,
            )
        )
    return rows


def _undelivered(*trackers: Tracker) -> str:
    missing = sum(len(t.pending) for t in trackers)
    return f"; {missing} undelivered" if missing else ""


def rows_for(size: int, ours: Measured, baseline: Measured) -> list[Row]:
    half_baseline = baseline.max_rate / 2
    half_ours = ours.max_rate / 2
    return [
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
            half_baseline,
            ours.open[half_baseline],
            baseline.open[half_baseline],
            "half the baseline's max, both"
            + _undelivered(ours.open[half_baseline], baseline.open[half_baseline]),
        ),
        *_latency_rows(
            size,
            half_ours,
            ours.open[half_ours],
            None,
            "half our max; target p99 < 100 ms" + _undelivered(ours.open[half_ours]),
        ),
    ]


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
        users = await make_users(
            run_.url("auth_service"),
            run_.workdir / "signing_key.pem",
            total=users_needed,
            registered=workload.registered,
        )
        ours_target = Ours(run_.url("chat_service"), client)
        baseline_target = Baseline(baseline_url, client)
        with pinned(CLIENT_CORE):
            for size in CHATS:
                baseline = await measure(
                    baseline_target, users, size, workload, server_pid=baseline_pid
                )
                ours = await measure(
                    ours_target,
                    users,
                    size,
                    workload,
                    server_pid=run_.pid("chat_service"),
                    also_at=baseline.max_rate / 2,
                )
                rows += rows_for(size, ours, baseline)
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
