"""Gateway fan-out: notify_ws_service against seed 004's design (bench.baseline).

Each server in turn is pinned to core 0, alone there with its share of the machine;
the socket-holding clients and the Kafka producer run as processes pinned to core 1.
Same users, same workload for both (see bench.gateway_phases for the steps), each on
a broker of its own that starts empty: the development broker slows down as it fills,
and the second contender would otherwise pay for the first one's records. A plain
consumer beside each gateway times the same records through the broker alone.

Users: a few "bulk" users holding many sockets each (most of the sockets, and the
fan-out), "probe" users with one socket each (one frame per notification, for the
open-loop latencies), and two "slow" users whose socket stops reading.

Ours stores every notification in PostgreSQL and publishes it through Redis before
pushing (its durability and multi-instance design); the baseline pushes straight from
the consumer. Registration is bounded by argon2id, so the sockets share few users: the
per-user socket cap is raised for the run.
"""

from __future__ import annotations

import asyncio
import resource
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from bench.broker_probe import BrokerProbe
from bench.gateway_phases import (
    CROSSING_MS,
    GatewayBench,
    Layout,
    OpenLoop,
    Result,
    Users,
    dropped_by_gateway,
)
from bench.gateway_pool import ClientPool, Worker
from bench.report import Row
from bench.suite import baseline_server, fresh_broker, stop_process, suite
from shared.events.topics import NOTIFICATION_SEND
from shared.testing.auth_service import AuthUser, register_and_login

FULL = Layout(
    bulk_users=10,
    bulk_sockets=999,
    probe_users=10,
    slow_users=2,
    client_processes=4,
    rates=(100, 1000, 2000, 4000, 8000),
    phase_seconds=8.0,
    burst_records=200,
    slow_probe_rate=1000,
    slow_big_rate=100,
    slow_big_bytes=2_000,
    slow_seconds=10.0,
)
QUICK = Layout(
    bulk_users=5,
    bulk_sockets=199,
    probe_users=5,
    slow_users=2,
    client_processes=2,
    rates=(100, 1000),
    phase_seconds=2.0,
    burst_records=100,
    slow_probe_rate=200,
    slow_big_rate=100,
    slow_big_bytes=2_000,
    slow_seconds=5.0,
)
GATEWAY_CORE = 0
CLIENT_CORE = 1 if (psutil.cpu_count() or 1) > 1 else None
WS_PATH = "/api/v1/notify/ws"
TARGET_RATE = 1000
# The development broker answers a fetch only when its wait ends (Kafka answers as soon as
# records arrive), so both gateways' consumers wait at most this long.
FETCH_MAX_WAIT_MS = 10
NAME = "gateway"


def _raise_fd_limit() -> None:
    """Every process started from here inherits it: the server holds a socket per client."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _register(auth_url: str, count: int) -> list[AuthUser]:
    limit = asyncio.Semaphore(8)

    async def one() -> AuthUser:
        async with limit:
            return await register_and_login(auth_url)

    return list(await asyncio.gather(*(one() for _ in range(count))))


def _baseline(
    kafka: str, auth_url: str, workdir: Path
) -> AbstractAsyncContextManager[tuple[str, int]]:
    args = ["--kafka", kafka, "--auth-url", auth_url, "--fetch-max-wait-ms", str(FETCH_MAX_WAIT_MS)]
    return baseline_server(
        "bench.baseline.gateway_server", workdir, core=GATEWAY_CORE, args=args, with_database=False
    )


async def _measure(
    name: str, pid: int, http_url: str, kafka: str, users: Users, layout: Layout, log: Path
) -> Result:
    async with AsyncExitStack() as stack:
        producer = await Worker.start(
            "bench.gateway_producer", "--kafka", kafka, core=CLIENT_CORE, log=log
        )
        stack.push_async_callback(producer.stop)
        pool = await ClientPool.start(layout.client_processes, core=CLIENT_CORE, log=log)
        stack.push_async_callback(pool.stop)
        probe = await stack.enter_async_context(
            BrokerProbe(kafka, NOTIFICATION_SEND, fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        )
        bench = GatewayBench(
            pid=pid,
            ws_url=http_url.replace("http://", "ws://", 1) + WS_PATH,
            pool=pool,
            producer=producer,
            users=users,
            layout=layout,
            broker=probe,
        )
        return await bench.run(name)


async def run(quick: bool) -> tuple[list[Row], dict[str, object]]:
    layout = QUICK if quick else FULL
    _raise_fd_limit()
    env = {
        "NOTIFY_MAX_SOCKETS_PER_USER": str(layout.bulk_sockets + 1),
        "NOTIFY_MAX_CONNECTIONS": str(layout.sockets + 1000),
        "NOTIFY_KAFKA_FETCH_MAX_WAIT_MS": str(FETCH_MAX_WAIT_MS),
    }
    services = ("auth_service", "notify_ws_service")
    async with suite(services, cores={"notify_ws_service": GATEWAY_CORE}, env=env) as s:
        users = Users.split(await _register(s.url("auth_service"), layout.users), layout)
        log = s.workdir / "gateway_bench.log"
        ours_url = s.url("notify_ws_service")
        ours_pid = s.pid("notify_ws_service")
        ours = await _measure("ours", ours_pid, ours_url, s.kafka, users, layout, log)
        ours_drops = await dropped_by_gateway(ours_url)
        # Alone on its core from here on, and on a broker as empty as ours started on.
        await asyncio.to_thread(stop_process, s.processes["notify_ws_service"])
        async with (
            fresh_broker(s.workdir, [NOTIFICATION_SEND]) as kafka,
            _baseline(kafka, s.url("auth_service"), s.workdir) as (url, pid),
        ):
            baseline = await _measure("baseline", pid, url, kafka, users, layout, log)
    parameters: dict[str, object] = {
        "layout": asdict(layout),
        "sockets": layout.sockets,
        "gateway_core": GATEWAY_CORE,
        "client_core": CLIENT_CORE,
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
        "ours": _details(ours) | {"dropped_slow_by_metrics": ours_drops},
        "baseline": _details(baseline),
    }
    return rows(ours, baseline, layout), parameters


def _details(result: Result) -> dict[str, Any]:
    details = asdict(result)
    details["sweep"] = [s.as_dict() for s in result.sweep]
    for key in ("control", "slowed", "control_after"):
        step: OpenLoop | None = getattr(result, key)
        details[key] = step.as_dict() if step is not None else None
    return details


def _mark(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def _crossing(result: Result) -> str:
    crossed = result.crossed_at
    if crossed is None:
        return f"not crossed up to {max(s.rate for s in result.sweep):,.0f}/s"
    return f"crosses between {result.highest_rate_under:,.0f} and {crossed:,.0f}/s"


def rows(ours: Result, baseline: Result, layout: Layout) -> list[Row]:
    sockets = f"{layout.sockets:,} sockets"
    memory_ok = ours.rss_per_socket_kib <= 30
    result = [
        Row(
            NAME,
            f"memory per idle socket ({sockets})",
            "KiB",
            ours.rss_per_socket_kib,
            baseline.rss_per_socket_kib,
            higher_is_better=False,
            note=f"target <= 30 KiB: {_mark(memory_ok)}; connected {ours.connected:,} / "
            f"{baseline.connected:,}",
        ),
        Row(
            NAME,
            "sockets opened per second",
            "sockets/s",
            ours.connected / max(ours.connect_seconds, 1e-6),
            baseline.connected / max(baseline.connect_seconds, 1e-6),
            note="baseline asks /verify per socket; ours caches per token",
        ),
    ]
    for step in ours.sweep:
        other = baseline.at_rate(step.rate)
        percentiles = ("p50", "p99", "p99.9") if step.rate == TARGET_RATE else ("p99",)
        for percentile in percentiles:
            note = ""
            if step.rate == TARGET_RATE and percentile == "p99":
                ok = step.latency["p99"] < 50
                note = f"target < 50 ms at 1,000/s, {sockets} open: {_mark(ok)}"
            result.append(
                Row(
                    NAME,
                    f"{percentile} at {step.rate:,.0f} notifications/s",
                    "ms",
                    step.latency[percentile],
                    other.latency[percentile] if other is not None else None,
                    higher_is_better=False,
                    note=note or f"delivered {step.delivered:,}/{step.expected:,} in time",
                )
            )
    ours_target, baseline_target = ours.at_rate(TARGET_RATE), baseline.at_rate(TARGET_RATE)
    if ours_target is not None and ours_target.broker is not None:
        other_broker = baseline_target.broker if baseline_target is not None else None
        result.append(
            Row(
                NAME,
                f"broker alone: p99 at {TARGET_RATE:,} notifications/s",
                "ms",
                ours_target.broker["p99"],
                other_broker["p99"] if other_broker is not None else None,
                higher_is_better=False,
                note="the same records to a plain consumer: the floor under each gateway",
            )
        )
    result.append(
        Row(
            NAME,
            f"highest rate with p99 < {CROSSING_MS:.0f} ms",
            "notifications/s",
            ours.highest_rate_under,
            baseline.highest_rate_under,
            note=f"ours {_crossing(ours)}; baseline {_crossing(baseline)}",
        )
    )
    frames = f"{ours.burst_frames:,}/{ours.burst_expected:,} frames"
    result += [
        Row(
            NAME,
            "fan-out frames/s per core (server CPU time)",
            "frames/s",
            ours.frames_per_cpu_second,
            baseline.frames_per_cpu_second,
            note=f"target >= 50,000: {_mark(ours.frames_per_cpu_second >= 50_000)}; {frames}",
        ),
        Row(
            NAME,
            "fan-out frames/s (wall clock)",
            "frames/s",
            ours.frames_per_second,
            baseline.frames_per_second,
            note=f"{layout.burst_records} notifications x {layout.bulk_sockets} sockets; "
            f"clients used {ours.burst_client_cpu:.0%} / {baseline.burst_client_cpu:.0%} of a core",
        ),
    ]
    result += _slow_rows(ours, baseline, layout)
    return result


def _broker_p99(step: OpenLoop) -> str:
    return "-" if step.broker is None else f"{step.broker['p99']:,.0f} ms"


def _slow_steps(result: Result) -> tuple[OpenLoop, OpenLoop, OpenLoop]:
    """The control run before, the run with the readers stopped, the control run after."""
    assert result.control is not None
    assert result.slowed is not None
    assert result.control_after is not None
    return result.control, result.slowed, result.control_after


def _control_p99(before: OpenLoop, after: OpenLoop) -> float:
    """The control runs' p99, as their mean: the broker slows down between them."""
    return (before.latency["p99"] + after.latency["p99"]) / 2


def _slow_rows(ours: Result, baseline: Result, layout: Layout) -> list[Row]:
    before, slowed, after = _slow_steps(ours)
    base_before, base_slowed, base_after = _slow_steps(baseline)
    rate = f"{layout.slow_probe_rate:,}/s"
    slow = f"{layout.slow_users} slow readers"
    # "Unchanged" within noise: 25% or 10 ms of the control runs' mean, whichever is larger.
    control_p99 = _control_p99(before, after)
    unchanged = slowed.latency["p99"] <= max(control_p99 * 1.25, control_p99 + 10)
    return [
        Row(
            NAME,
            f"others' p99 at {rate}, {slow} reading (before / after)",
            "ms",
            control_p99,
            _control_p99(base_before, base_after),
            higher_is_better=False,
            note=f"mean of {before.latency['p99']:,.0f} / {after.latency['p99']:,.0f} ms; "
            f"plus {layout.slow_big_rate}/s of {layout.slow_big_bytes:,} B to each; "
            f"broker alone p99 {_broker_p99(before)} / {_broker_p99(after)}",
        ),
        Row(
            NAME,
            f"others' p99 at {rate}, {slow} stopped",
            "ms",
            slowed.latency["p99"],
            base_slowed.latency["p99"],
            higher_is_better=False,
            note=f"unchanged (within 25% or 10 ms): {_mark(unchanged)}; "
            f"run capped at {layout.slow_seconds:.0f} s + 2 s; "
            f"broker alone p99 {_broker_p99(slowed)}",
        ),
        Row(
            NAME,
            f"others delivered in time, {slow} stopped",
            "%",
            100 * slowed.delivered / max(1, slowed.expected),
            100 * base_slowed.delivered / max(1, base_slowed.expected),
        ),
        Row(
            NAME,
            "slow readers dropped by the server",
            "sockets",
            ours.slow_dropped,
            baseline.slow_dropped,
            note=f"of {layout.slow_users}; target all: "
            f"{_mark(ours.slow_dropped == layout.slow_users)}",
        ),
        Row(
            NAME,
            "server RSS growth, slow readers stopped",
            "MiB",
            ours.slow_rss_growth_mib,
            baseline.slow_rss_growth_mib,
            higher_is_better=False,
            note="bounded: NOTIFY_SEND_BUFFER_BYTES unsent per socket",
        ),
    ]
