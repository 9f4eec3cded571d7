"""A job run every so often in the background while a service runs (purges, renewals).

A failed run is logged and the next one comes anyway: one broken round must not end the
housekeeping for good.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from shared.logging import get_logger

log = get_logger(__name__)


class Periodic:
    def __init__(
        self,
        job: Callable[[], Awaitable[object]],
        *,
        interval: float,
        name: str,
        failed: str,
        wait_first: bool = False,
    ) -> None:
        """``failed``: the log event of a failed run; ``wait_first``: the first run comes
        an interval after the start, not at once."""
        self._job = job
        self._interval = interval
        self._name = name
        self._failed = failed
        self._wait_first = wait_first
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if self._wait_first:
            await asyncio.sleep(self._interval)
        while True:
            try:
                await self._job()
            except Exception as exc:
                log.warning(self._failed, error=repr(exc))
            await asyncio.sleep(self._interval)
