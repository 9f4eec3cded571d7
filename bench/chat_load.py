"""Chat load: rooms of connected members, messages sent open or closed loop, and the
time until every member of the room has the message.

Each message's text carries its number (``bench-0000000042``); a reader per socket
finds it in the announcement frames without parsing JSON, so the client spends little
per delivered frame. A message is delivered when the last member's socket has it; its
latency is taken from the moment it was meant to be sent (open loop: the schedule, so a
late send counts against the server, not for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect

from bench.chat_targets import ChatTarget, User
from bench.latency import Latency

MARK = "bench-"
DIGITS = 10
# How long a message may take before it counts as undelivered.
DELIVERY_TIMEOUT = 10.0


def message_frame(number: int) -> str:
    return json.dumps({"type": "sending_message", "data": f"{MARK}{number:0{DIGITS}d}"})


@dataclass
class Pending:
    intended: float
    remaining: int
    done: asyncio.Future[None] | None


@dataclass
class Tracker:
    """Messages in flight in one phase and what arrived."""

    latency: Latency = field(default_factory=Latency)
    pending: dict[int, Pending] = field(default_factory=dict)
    sent: int = 0
    delivered: int = 0  # messages every member has
    frames: int = 0  # announcement frames read, over all sockets

    def expect(self, number: int, receivers: int, intended: float, *, wait: bool) -> Pending:
        done = asyncio.get_running_loop().create_future() if wait else None
        entry = self.pending[number] = Pending(intended, receivers, done)
        self.sent += 1
        return entry

    def arrived(self, number: int) -> None:
        self.frames += 1
        entry = self.pending.get(number)
        if entry is None:
            return
        entry.remaining -= 1
        if entry.remaining == 0:
            del self.pending[number]
            self.delivered += 1
            self.latency.record(time.monotonic() - entry.intended)
            if entry.done is not None and not entry.done.done():
                entry.done.set_result(None)

    async def drain(self, timeout: float = DELIVERY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


@dataclass
class Room:
    chat_id: str
    members: list[User]
    sockets: list[ClientConnection] = field(default_factory=list)


class Load:
    """Rooms with every member connected; readers feed whichever tracker is current."""

    def __init__(self, target: ChatTarget, rooms: list[Room]) -> None:
        self.target = target
        self.rooms = rooms
        self.tracker = Tracker()
        self._next = 0
        self._readers: list[asyncio.Task[None]] = []
        self.closed_early = 0

    async def __aenter__(self) -> Load:
        limit = asyncio.Semaphore(20)

        async def open_socket(room: Room, user: User) -> ClientConnection:
            async with limit:
                return await connect(
                    self.target.socket_url(room.chat_id, user),
                    compression=None,
                    ping_interval=None,
                    max_size=2**20,
                    open_timeout=30,
                )

        for room in self.rooms:
            room.sockets = list(await asyncio.gather(*(open_socket(room, u) for u in room.members)))
            self._readers += [asyncio.create_task(self._read(s)) for s in room.sockets]
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._readers:
            task.cancel()
        for room in self.rooms:
            await asyncio.gather(*(s.close() for s in room.sockets), return_exceptions=True)

    async def _read(self, socket: ClientConnection) -> None:
        prefix, skip = self.target.announcement, len(MARK)
        with contextlib.suppress(Exception):
            async for frame in socket:
                if isinstance(frame, str) and frame.startswith(prefix):
                    at = frame.find(MARK) + skip
                    self.tracker.arrived(int(frame[at : at + DIGITS]))
        self.closed_early += 1

    def senders(self, per_room: int) -> list[tuple[Room, ClientConnection]]:
        """``per_room`` sending sockets of each room, interleaved across rooms."""
        return [(room, room.sockets[i]) for i in range(per_room) for room in self.rooms]

    def number(self) -> int:
        self._next += 1
        return self._next

    async def stored(self) -> int:
        counts = [await self.target.stored(r.chat_id, r.members[0]) for r in self.rooms]
        return sum(counts)

    async def open_loop(
        self, senders: Sequence[tuple[Room, ClientConnection]], rate: float, seconds: float
    ) -> Tracker:
        """``rate`` messages/s on a fixed schedule, round robin over ``senders``."""
        tracker = self.tracker = Tracker()
        start = time.monotonic() + 0.05
        for i in range(max(1, int(rate * seconds))):
            intended = start + i / rate
            delay = intended - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            room, socket = senders[i % len(senders)]
            number = self.number()
            tracker.expect(number, len(room.members), intended, wait=False)
            await socket.send(message_frame(number))
        # An overloaded server works off its backlog here, not in the next measurement.
        await tracker.drain(DELIVERY_TIMEOUT + 2 * seconds)
        return tracker

    async def closed_loop(
        self, senders: Sequence[tuple[Room, ClientConnection]], seconds: float
    ) -> tuple[Tracker, float]:
        """Each sender sends its next message once every member has its last one;
        returns the tracker and the seconds until the last sender finished."""
        tracker = self.tracker = Tracker()
        started = time.monotonic()
        deadline = started + seconds

        async def send_loop(room: Room, socket: ClientConnection) -> None:
            while time.monotonic() < deadline:
                number = self.number()
                entry = tracker.expect(number, len(room.members), time.monotonic(), wait=True)
                await socket.send(message_frame(number))
                assert entry.done is not None
                try:
                    await asyncio.wait_for(entry.done, DELIVERY_TIMEOUT)
                except TimeoutError:
                    return

        await asyncio.gather(*(send_loop(room, socket) for room, socket in senders))
        return tracker, time.monotonic() - started
