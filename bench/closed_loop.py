"""Closed-loop load: each worker issues its next request as soon as the last one answered.

Good for "how many per second can it take" figures. Latencies recorded here are those
under that saturating load, not at a fixed rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bench.latency import Latency

# One request: True when it succeeded, False when it failed, None when the worker has
# nothing left to do.
Step = Callable[[], Awaitable[bool | None]]


@dataclass(frozen=True)
class Throughput:
    succeeded: int
    failed: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds if self.seconds > 0 else 0.0


async def closed_loop(
    steps: Sequence[Step], seconds: float, latency: Latency | None = None
) -> Throughput:
    """Run every step in its own loop for ``seconds`` (or until it runs dry)."""
    succeeded = failed = 0
    deadline = time.monotonic() + seconds

    async def worker(step: Step) -> None:
        nonlocal succeeded, failed
        while time.monotonic() < deadline:
            started = time.perf_counter()
            outcome = await step()
            if outcome is None:
                return
            if outcome:
                succeeded += 1
                if latency is not None:
                    latency.record(time.perf_counter() - started)
            else:
                failed += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(s) for s in steps))
    return Throughput(succeeded, failed, time.monotonic() - started)
