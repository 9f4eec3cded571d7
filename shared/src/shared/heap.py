"""Keeps the cyclic garbage collector off a server's long-lived objects.

A full collection walks every tracked object. With 10,000 sockets open that is millions
of them, and the event loop stops for a second or more each time (measured on the
gateway), stalling every socket. What a socket allocates lives as long as the socket, so
every ``interval`` the young generations are collected and whatever survived is frozen
(:func:`gc.freeze`): collections then walk only what is newer. Reference counting frees
frozen objects as usual; only garbage cycles among them wait, until the frozen set has
doubled since the last thaw and ``min_thaw_interval`` has passed since it (or since the
start): then it is thawed and collected in full once. So a burst of new sockets (a fleet
restarting) costs no full collection at all, and a steady server one every so often.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

from shared.logging import get_logger

log = get_logger(__name__)

# Below this many frozen objects a full collection is cheap: never thaw for less.
THAW_FLOOR = 200_000


def freeze() -> int:
    """Collect the young generations and freeze what survived; returns how many."""
    gc.collect(1)
    # After that collection every survivor is in the oldest generation, and only
    # they are: counting them costs what they are (gc.get_freeze_count walks them all).
    survivors = len(gc.get_objects(generation=2))
    gc.freeze()
    return survivors


def thaw_and_collect() -> int:
    """A full collection over everything; returns how many objects stay frozen."""
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("heap.thawed", collected=collected, frozen=frozen)
    return frozen


async def freeze_forever(interval: float, *, min_thaw_interval: float = 600.0) -> None:
    # Counted up as objects are frozen, never down as frozen ones are freed: a thaw
    # may come early, never late.
    frozen = thawed = 0
    # What a service starts with (modules, pools) is not garbage: a full collection over
    # it soon after the start (150 ms with 200,000 objects, measured) would be a stall
    # for nothing.
    thawed_at = time.monotonic()
    while True:
        frozen += freeze()
        now = time.monotonic()
        if frozen > 2 * max(thawed, THAW_FLOOR // 2) and now - thawed_at >= min_thaw_interval:
            frozen = thawed = thaw_and_collect()
            thawed_at = now
        await asyncio.sleep(interval)


class Freezer:
    """:func:`freeze_forever` in the background while a service runs; with ``interval``
    0, nothing (the collector runs as Python sets it)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(freeze_forever(self._interval), name="gc-freeze")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
