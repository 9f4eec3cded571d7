"""A periodic job: runs again after a failure, waits first when asked, stops for good."""

from __future__ import annotations

import asyncio

from shared.periodic import Periodic


async def test_a_failed_run_does_not_end_the_job() -> None:
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first round broke")

    periodic = Periodic(job, interval=0.01, name="test", failed="test.failed")
    periodic.start()
    async with asyncio.timeout(5):
        while runs < 3:
            await asyncio.sleep(0.01)
    await periodic.stop()
    stopped_at = runs
    await asyncio.sleep(0.05)
    assert runs == stopped_at


async def test_waiting_first_runs_nothing_before_an_interval() -> None:
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1

    periodic = Periodic(job, interval=60, name="test", failed="test.failed", wait_first=True)
    periodic.start()
    await asyncio.sleep(0.05)
    await periodic.stop()
    assert runs == 0
