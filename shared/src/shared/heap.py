"""Keeps the cyclic garbage collector off a server's long-lived objects.

A full collection walks every tracked object. With 10,000 sockets open that is millions
of them, and the event loop stops for a second or more each time (measured on the
gateway), stalling every socket. What a socket allocates lives as long as the socket, so
every ``interval`` the young generations are collected and whatever survived is frozen
(:func:`gc.freeze`): collections then walk only what is newer. Reference counting frees
frozen objects as usual; only garbage cycles among them wait, until the frozen set has
doubled since the last thaw: then it is thawed and collected in full once, so that work
stays proportional to growth, as the collector's own full collections are.
"""

from __future__ import annotations

import asyncio
import gc

from shared.logging import get_logger

log = get_logger(__name__)

# Below this many frozen objects a full collection is cheap: never thaw for less.
THAW_FLOOR = 200_000


def freeze() -> None:
    gc.collect(1)
    gc.freeze()


def thaw_and_collect() -> None:
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    log.info("heap.thawed", collected=collected, frozen=gc.get_freeze_count())


async def freeze_forever(interval: float) -> None:
    thawed_at = 0
    while True:
        freeze()
        if gc.get_freeze_count() > 2 * max(thawed_at, THAW_FLOOR // 2):
            thaw_and_collect()
            thawed_at = gc.get_freeze_count()
        await asyncio.sleep(interval)
