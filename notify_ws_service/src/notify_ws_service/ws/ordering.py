"""One user's notifications on one socket: in inbox position order, each exactly once.

Pushes reach an instance in publication order, which is not always position order:
instances store for one user in turns but publish on their own. A push at the next
position is sent at once; one at or before the last sent was sent already; one further
ahead waits while the positions in between are read from the inbox. Those are there:
a position commits only after every lower one (see ``inbox.service.store``), so only
retention can have deleted them, and then they are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from notify_ws_service.fanout.push import Push
from notify_ws_service.metrics import DEDUPLICATED
from shared.logging import get_logger

log = get_logger(__name__)

# The user's stored notifications after one position and before another, in order; at
# most ``limit`` of them.
Fill = Callable[[int, int], Awaitable[list[Push]]]


class InOrder:
    def __init__(
        self,
        *,
        send: Callable[[Push], None],
        fill: Fill,
        fill_limit: int,
        failed: Callable[[], None],
        overflowed: Callable[[], None],
        max_ahead: int,
    ) -> None:
        self._send = send
        self._fill = fill
        self._fill_limit = fill_limit
        self._failed = failed
        self._overflowed = overflowed
        self._max_ahead = max_ahead
        self._started = False
        # The last position sent (or that the client had already).
        self._last: int | None = None
        # Pushes that wait: for :meth:`start`, or for a gap before them to be filled.
        self._ahead: dict[int, Push] = {}
        self._filling: asyncio.Task[None] | None = None

    @property
    def last(self) -> int | None:
        return self._last

    def start(self, last: int | None) -> None:
        """Send what comes after position ``last``, beginning with what waited so far.
        None when it is unknown: then the first push that arrives is the start."""
        self._started = True
        self._last = last
        for position in [p for p in self._ahead if last is not None and p <= last]:
            del self._ahead[position]
            DEDUPLICATED.labels("connection").inc()
        self._advance()

    def offer(self, push: Push) -> None:
        position = push.position
        if (self._last is not None and position <= self._last) or position in self._ahead:
            DEDUPLICATED.labels("connection").inc()
            return
        if len(self._ahead) >= self._max_ahead:
            self._overflowed()
            return
        self._ahead[position] = push
        if self._started:
            self._advance()

    def stop(self) -> None:
        if self._filling is not None:
            self._filling.cancel()
        self._ahead.clear()

    def _advance(self) -> None:
        """Send what is next in line; read a gap from the inbox when one blocks it."""
        if self._last is None:
            if not self._ahead:
                return
            self._last = min(self._ahead) - 1
        self._send_next()
        if self._ahead and self._filling is None:
            self._filling = asyncio.create_task(self._fill_gaps(), name="notify-fill-gap")

    def _send_next(self) -> None:
        """Send the pushes that follow the last one sent without a gap."""
        assert self._last is not None
        while (push := self._ahead.pop(self._last + 1, None)) is not None:
            self._send(push)
            self._last += 1

    async def _fill_gaps(self) -> None:
        try:
            while self._ahead and self._last is not None:
                after, before = self._last, min(self._ahead)
                found = await self._fill(after, before)
                for stored in found:
                    if stored.position > self._last:
                        self._ahead.setdefault(stored.position, stored)
                # Everything up to here that the inbox does not hold was deleted since.
                read_to = before if len(found) < self._fill_limit else found[-1].position + 1
                while self._last + 1 < read_to:
                    if (push := self._ahead.pop(self._last + 1, None)) is not None:
                        self._send(push)
                    self._last += 1
                self._send_next()
        except Exception as exc:
            log.warning("ws.fill_failed", error=repr(exc))
            self._failed()
        finally:
            self._filling = None
