"""The gateway benchmark's measurements of one server: the same steps for ours and the
baseline, on sockets held by a :class:`ClientPool` and records from a producer process.

1. idle sockets: process RSS before and after ``Layout.sockets`` sockets are open;
2. open loop: notifications to the probe users (one socket each, so one frame per
   notification) at fixed rates, latency from the intended send time; the sweep stops at
   the first rate whose p99 passes 100 ms;
3. fan-out: a burst of notifications to the bulk users (``bulk_sockets`` sockets each),
   frames delivered per second of wall clock and per second of the server's CPU time;
4. slow readers: the open loop again with large notifications to a few users whose one
   socket has stopped reading, against control runs where they read, one before and one
   after: the development broker slows down as it fills, so a single control run before
   would flatter it against the run after.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from bench.broker_probe import BrokerProbe
from bench.gateway_pool import ClientPool, Worker
from bench.latency import Latency
from shared.testing.auth_service import AuthUser

CROSSING_MS = 100.0
# The sweep runs at least up to the rate the latency target is set at.
MUST_RUN_RATE = 1000


@dataclass(frozen=True)
class Layout:
    bulk_users: int
    bulk_sockets: int  # per bulk user
    probe_users: int  # one socket each
    slow_users: int  # one socket each, opened for the slow-reader step
    client_processes: int
    rates: tuple[int, ...]
    phase_seconds: float
    burst_records: int
    slow_probe_rate: int
    slow_big_rate: int  # per slow user
    slow_big_bytes: int
    slow_seconds: float  # the control run's too

    @property
    def sockets(self) -> int:
        return self.bulk_users * self.bulk_sockets + self.probe_users

    @property
    def users(self) -> int:
        return self.bulk_users + self.probe_users + self.slow_users


@dataclass(frozen=True)
class Users:
    bulk: list[AuthUser]
    probe: list[AuthUser]
    slow: list[AuthUser]

    @classmethod
    def split(cls, users: list[AuthUser], layout: Layout) -> Users:
        probe_end = layout.bulk_users + layout.probe_users
        return cls(
            users[: layout.bulk_users], users[layout.bulk_users : probe_end], users[probe_end:]
        )


@dataclass(frozen=True)
class Stream:
    users: list[AuthUser]
    sockets_per_user: int
    rate: float | None
    count: int
    body: int = 1


@dataclass
class OpenLoop:
    rate: float
    latency: dict[str, float]
    expected: int
    delivered: int  # before the cutoff
    # The same records' latency to a plain consumer of the broker (BrokerProbe).
    broker: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            **self.latency,
            "expected": self.expected,
            "delivered": self.delivered,
            "broker": self.broker,
        }


@dataclass
class Result:
    connected: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    connect_seconds: float = 0.0
    rss_before_mib: float = 0.0
    rss_per_socket_kib: float = 0.0
    sweep: list[OpenLoop] = field(default_factory=list)
    burst_frames: int = 0
    burst_expected: int = 0
    frames_per_second: float = 0.0
    frames_per_cpu_second: float = 0.0
    burst_client_cpu: float = 0.0  # share of one core the clients used during the burst
    control: OpenLoop | None = None
    slowed: OpenLoop | None = None
    control_after: OpenLoop | None = None
    slow_dropped: int = 0
    slow_close_codes: dict[str, int] = field(default_factory=dict)
    slow_rss_growth_mib: float = 0.0

    def at_rate(self, rate: float) -> OpenLoop | None:
        return next((s for s in self.sweep if s.rate == rate), None)

    @property
    def highest_rate_under(self) -> float:
        """The highest rate run whose p99 stayed under the crossing."""
        under = [s.rate for s in self.sweep if s.latency["p99"] <= CROSSING_MS]
        return max(under, default=0.0)

    @property
    def crossed_at(self) -> float | None:
        over = [s.rate for s in self.sweep if s.latency["p99"] > CROSSING_MS]
        return min(over, default=None)


class GatewayBench:
    def __init__(
        self,
        *,
        pid: int,
        ws_url: str,
        pool: ClientPool,
        producer: Worker,
        users: Users,
        layout: Layout,
        broker: BrokerProbe | None = None,
    ) -> None:
        self._server = psutil.Process(pid)
        self._broker = broker
        self._url = ws_url
        self._pool = pool
        self._producer = producer
        self._users = users
        self._layout = layout
        self._phase = 0
        self.result = Result()

    def _next_phase(self) -> int:
        self._phase += 1
        return self._phase

    def _rss(self) -> int:
        return int(self._server.memory_info().rss)

    def _cpu(self) -> float:
        times = self._server.cpu_times()
        return float(times.user + times.system)

    async def run(self, name: str) -> Result:
        started = time.monotonic()
        for step in (self.idle_sockets, self.warm_up, self.sweep, self.fan_out, self.slow_readers):
            await step()
            print(
                f"  {name}: {step.__name__} done at {time.monotonic() - started:.0f} s", flush=True
            )
        return self.result

    async def idle_sockets(self) -> None:
        layout, users = self._layout, self._users
        await asyncio.sleep(1.0)
        before = self._rss()
        started = time.monotonic()
        bulk = await self._pool.connect(
            "bulk",
            self._url,
            [u.access_token for u in users.bulk for _ in range(layout.bulk_sockets)],
        )
        probe = await self._pool.connect("probe", self._url, [u.access_token for u in users.probe])
        self.result.connect_seconds = time.monotonic() - started
        await asyncio.sleep(2.0)
        after = self._rss()
        opened = [await self._pool.status("bulk"), await self._pool.status("probe")]
        self.result.connected = sum(s["open"] for s in opened)
        refused = Counter(bulk["refused"]) + Counter(probe["refused"])
        for status in opened:
            refused.update({f"closed {code}": n for code, n in status["codes"].items()})
        self.result.refused = dict(refused)
        print(f"  {self.result.connected:,} sockets open, refused: {refused}", flush=True)
        self.result.rss_before_mib = before / 2**20
        self.result.rss_per_socket_kib = (after - before) / 1024 / max(1, self.result.connected)

    async def warm_up(self) -> None:
        """Until one notification reached a socket: consumers joined, pools warm."""
        phase = self._next_phase()
        deadline = time.monotonic() + 120
        first = [self._users.probe[0]]
        while time.monotonic() < deadline:
            await self._produce([(phase, Stream(first, 1, None, 1))])
            for _ in range(10):
                if await self._pool.count(phase):
                    await self._quiesce()
                    await self._pool.collect(phase, samples=False)
                    return
                await asyncio.sleep(0.1)
        status = await self._pool.status("probe")
        raise RuntimeError(f"no notification reached a socket within 120 s; probe sockets {status}")

    async def sweep(self) -> None:
        layout = self._layout
        for rate in layout.rates:
            count = int(rate * layout.phase_seconds)
            result = await self._open_loop(Stream(self._users.probe, 1, rate, count), [], grace=3.0)
            self.result.sweep.append(result)
            await self._quiesce()
            overloaded = result.latency["p99"] > CROSSING_MS or result.delivered < result.expected
            if overloaded and rate >= MUST_RUN_RATE:
                break

    async def fan_out(self) -> None:
        layout = self._layout
        phase = self._next_phase()
        expected = layout.burst_records * layout.bulk_sockets
        clients = [psutil.Process(pid) for pid in self._pool.pids]
        client_cpu = sum(sum(p.cpu_times()[:2]) for p in clients)
        cpu = self._cpu()
        started = time.monotonic()
        await self._produce(
            [(phase, Stream(self._users.bulk, layout.bulk_sockets, None, layout.burst_records))]
        )
        await self._await_frames(phase, expected, started + 60, stall=5.0)
        cpu = self._cpu() - cpu
        client_cpu = sum(sum(p.cpu_times()[:2]) for p in clients) - client_cpu
        wall = time.monotonic() - started
        burst = await self._pool.collect(phase, samples=False)
        self.result.burst_frames = burst["frames"]
        self.result.burst_expected = expected
        if burst["first"] is not None and burst["last"] > burst["first"]:
            self.result.frames_per_second = burst["frames"] / (burst["last"] - burst["first"])
        self.result.frames_per_cpu_second = burst["frames"] / max(cpu, 1e-6)
        self.result.burst_client_cpu = client_cpu / wall
        await self._quiesce()

    async def slow_readers(self) -> None:
        layout, users = self._layout, self._users
        tokens = [u.access_token for u in users.slow]
        # A small receive buffer, so the server's side fills after megabytes, not tens.
        await self._pool.connect("slow", self._url, tokens, rcvbuf=4096)

        def streams(seconds: float) -> tuple[Stream, list[Stream]]:
            probe_count = int(layout.slow_probe_rate * seconds)
            big_rate = layout.slow_big_rate * len(users.slow)
            big = Stream(users.slow, 1, big_rate, int(big_rate * seconds), layout.slow_big_bytes)
            return Stream(users.probe, 1, layout.slow_probe_rate, probe_count), [big]

        self.result.control = await self._open_loop(*streams(layout.slow_seconds), grace=2.0)
        await self._quiesce()
        await self._pool.pause("slow")
        start_rss = self._rss()
        peak = start_rss
        sampling = True

        async def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, self._rss())
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        try:
            self.result.slowed = await self._open_loop(*streams(layout.slow_seconds), grace=2.0)
        finally:
            sampling = False
            await sampler
        self.result.slow_rss_growth_mib = (peak - start_rss) / 2**20
        # Reading again shows which sockets the server had closed meanwhile.
        await self._pool.resume("slow")
        await asyncio.sleep(3.0)
        status = await self._pool.status("slow")
        self.result.slow_dropped = status["closed"]
        self.result.slow_close_codes = status["codes"]
        if status["closed"]:
            # Reading sockets again for the second control run: the same load as the first.
            await self._pool.connect("slow-after", self._url, tokens, rcvbuf=4096)
        await self._quiesce()
        self.result.control_after = await self._open_loop(*streams(layout.slow_seconds), grace=2.0)

    async def _produce(self, streams: list[tuple[int, Stream]]) -> list[dict[str, Any]]:
        command = {
            "cmd": "run",
            "streams": [
                {
                    "phase": phase,
                    "rate": s.rate,
                    "count": s.count,
                    "users": [str(u.id) for u in s.users],
                    "body": s.body,
                }
                for phase, s in streams
            ],
        }
        reply = await self._producer.call(command)
        streams_done: list[dict[str, Any]] = reply["streams"]
        return streams_done

    async def _open_loop(self, probe: Stream, others: list[Stream], *, grace: float) -> OpenLoop:
        """Runs the streams together; the probe stream is timed, missing frames included."""
        assert probe.rate is not None
        phase = self._next_phase()
        expected = probe.count * probe.sockets_per_user
        if self._broker is not None:
            self._broker.take()
        producing = asyncio.create_task(
            self._produce([(phase, probe), *((self._next_phase(), s) for s in others)])
        )
        seconds = probe.count / probe.rate
        started = time.monotonic()
        await self._await_frames(phase, expected, started + seconds + grace)
        cutoff = time.monotonic()
        done = await producing
        t0 = done[0]["t0"]
        collected = await self._pool.collect(phase)
        latency = Latency()
        received: Counter[int] = Counter()
        for seq, micros in collected["samples"]:
            received[seq] += 1
            latency.record(micros / 1_000_000)
        # A frame that never came within the cutoff counts with the age it had then: a
        # lower bound, never an omission.
        for seq in range(probe.count):
            for _ in range(probe.sockets_per_user - received[seq]):
                latency.record(cutoff - (t0 + seq / probe.rate))
        broker = self._broker.take() if self._broker is not None else None
        return OpenLoop(probe.rate, latency.summary(), expected, collected["frames"], broker)

    async def _await_frames(
        self, phase: int, expected: int, deadline: float, *, stall: float | None = None
    ) -> None:
        """Until ``expected`` frames came, the deadline passed, or (with ``stall``) none
        came for that long: a socket the server refused never gets its share."""
        seen, progressed = 0, time.monotonic()
        while (now := time.monotonic()) < deadline:
            count = await self._pool.count(phase)
            if count >= expected:
                return
            if count > seen:
                seen, progressed = count, now
            elif stall is not None and seen and now - progressed > stall:
                return
            await asyncio.sleep(0.05)

    async def _quiesce(self, timeout: float = 30.0) -> None:
        """Until no frame arrived for a second: the previous step's backlog is gone."""
        deadline = time.monotonic() + timeout
        last = await self._pool.total()
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            now = await self._pool.total()
            if now == last:
                return
            last = now


async def dropped_by_gateway(url: str) -> float | None:
    """Our gateway's own count of sockets it closed for not reading (its /metrics)."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(url + "/metrics")
    for line in response.text.splitlines():
        if line.startswith('notify_dropped_total{reason="slow"}'):
            return float(line.split()[-1])
    return None
