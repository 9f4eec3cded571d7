"""Gateway users as the scenarios see them: sockets that remember what they received.

"As the user sees it": a :class:`Device` is one socket of a user, followed across its
reconnects. Each notification frame (``?v=2``, which carries the notification id) is
entered in the ledger under ``(device, id)``; a device that gets an id twice, on one
socket or across a drop and a ``since=`` resume, counts it as duplicated, and an id its
user was sent that the device never got is lost. After a drop the device resumes with
``since=<the last id it received>``, as the gateway's protocol asks.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.faults.checker import Ledger
from bench.faults.gateway_kafka import Outgoing, notification
from shared.testing.auth_service import AuthUser

WS_PATH = "/api/v1/notify/ws"


def socket_url(base: str, token: str, **params: str) -> str:
    return f"{base}{WS_PATH}?{urlencode({'token': token, 'v': '2', **params})}"


@dataclass
class Device:
    name: str
    token: str
    ledger: Ledger
    last_id: str | None = None
    sessions: int = 0
    # Close codes of the sockets that ended (None: dropped without a close frame).
    closes: list[int | None] = field(default_factory=list)
    recovered: list[bool] = field(default_factory=list)
    open: asyncio.Event = field(default_factory=asyncio.Event)
    # (socket number, frame) of every notification and recovered frame, for diagnosis.
    history: list[tuple[int, str]] = field(default_factory=list)

    def key(self, message_id: str) -> tuple[str, str]:
        return (self.name, message_id)

    async def hold(self, target: Callable[[], str], *, resume: bool = True) -> None:
        """Keep a socket open to ``target()`` until cancelled, reconnecting after a
        drop, with ``since=`` when ``resume`` and something was received."""
        while True:
            since = {"since": self.last_id} if resume and self.last_id else {}
            try:
                async with connect(
                    socket_url(target(), self.token, **since), open_timeout=30
                ) as ws:
                    self.sessions += 1
                    self.open.set()
                    await self._read(ws)
                    self.closes.append(ws.close_code)
            except ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else None)
            except (OSError, InvalidHandshake, TimeoutError):
                self.closes.append(None)
            finally:
                self.open.clear()
            await asyncio.sleep(0.2 + random.random() / 2)

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            frame: dict[str, Any] = json.loads(message)
            if frame.get("type") == "recovered":
                self.recovered.append(bool(frame["complete"]))
                self.history.append((self.sessions, "recovered"))
            elif "id" in frame:
                self.history.append((self.sessions, frame["id"]))
                self.ledger.receive([self.key(frame["id"])])
                self.last_id = frame["id"]


class Devices:
    """``per_user`` devices for each user, held open at once until :meth:`close`."""

    def __init__(self, users: Sequence[AuthUser], ledger: Ledger, *, per_user: int = 1) -> None:
        self.per_user = per_user
        self.all = [
            Device(f"user{i}.{k}", user.access_token, ledger)
            for i, user in enumerate(users)
            for k in range(per_user)
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def hold(self, target: Callable[[], str], *, resume: bool = True) -> None:
        """Open them all and wait until each is open."""
        for device in self.all:
            self._tasks.append(asyncio.create_task(device.hold(target, resume=resume)))
        await until(lambda: all(d.open.is_set() for d in self.all), timeout=120)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def of_user(self, index: int) -> list[Device]:
        return self.all[index * self.per_user : (index + 1) * self.per_user]


def round_robin(
    ledger: Ledger, users: Sequence[AuthUser], devices: Devices, count: int, tag: str = ""
) -> list[Outgoing]:
    """``count`` notifications, one user after the other; every device of the user
    expects each one, once the broker acknowledged it."""
    outgoing = []
    for n in range(count):
        index = n % len(users)
        message_id = str(uuid4())
        value = notification(message_id, users[index].id, f"{tag}{n}")
        outgoing.append(Outgoing(value, expect(ledger, devices.of_user(index), message_id)))
    return outgoing


async def until(
    condition: Callable[[], bool | Awaitable[bool]], *, timeout: float, every: float = 0.2
) -> None:
    """Poll ``condition`` until it holds; a generous timeout, never a pass/fail time."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout:.0f}s")
        await asyncio.sleep(every)


async def settled(ledger: Ledger, *, quiet: float = 1.0, timeout: float = 60) -> None:
    """Wait until every acknowledged id arrived (the ledger's recovery time) and nothing
    more came for ``quiet`` seconds (late duplicates show up in that margin)."""
    await until(lambda: not ledger.lost, timeout=timeout)
    ledger.recovered()
    await quiet_for(ledger, quiet)


async def quiet_for(ledger: Ledger, seconds: float) -> None:
    """Return once nothing arrived for ``seconds``."""
    seen = -1
    while (total := sum(ledger.received.values())) != seen:
        seen = total
        await asyncio.sleep(seconds)


def expect(ledger: Ledger, devices: Iterable[Device], message_id: str) -> Callable[[], None]:
    """Enter a notification for ``devices`` as sent; the returned callable acknowledges it."""
    keys: list[Hashable] = [device.key(message_id) for device in devices]
    for key in keys:
        ledger.send(key)

    def acknowledged() -> None:
        for key in keys:
            ledger.acknowledge(key)

    return acknowledged


async def handshake_outcome(url: str, *, wait: float = 5.0) -> int | str | None:
    """How the gateway answers a new socket: its close code when it closes at once
    (None without a close frame), ``"open"`` when it stays open and silent for ``wait``
    seconds, ``"frame"`` when it sends something first."""
    try:
        async with connect(url, open_timeout=30) as ws:
            try:
                await asyncio.wait_for(ws.recv(), wait)
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else None
            except TimeoutError:
                return "open"
            return "frame"
    except InvalidHandshake as exc:
        return f"refused handshake: {exc}"


def how_repeated(devices: Iterable[Device], ledger: Ledger) -> Counter[str]:
    """For a failing run: did each duplicate come again live, or in a since= replay?"""
    repeats: Counter[str] = Counter()
    duplicated = ledger.duplicated
    for device in devices:
        socket, replaying = 0, False
        seen: set[str] = set()
        for number, what in device.history:
            if number != socket:
                socket, replaying = number, device.sessions > 1 and number > 1
            if what == "recovered":
                replaying = False
            elif device.key(what) in duplicated and what in seen:
                repeats["in a since= replay" if replaying else "live"] += 1
            seen.add(what)
    return repeats
