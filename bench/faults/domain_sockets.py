"""A socket client for request/reply protocols that echo ``request_id`` (chat ``/ws``,
orders ``/ws/orders``): replies go to whoever asked, everything else (events,
broadcasts) is read and counted, since a client that stops reading is cut off as a slow
reader. A closed socket is opened again on the next request."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

Frame = dict[str, Any]
REPLY_TIMEOUT = 15.0


class NoReply(Exception):
    """The request may or may not have been carried out."""


class ReplySocket:
    def __init__(self, url: str) -> None:
        self.url = url
        self.other_frames = 0
        self._connection: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self._next_id = 0

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def request(self, action: str, **fields: Any) -> Frame:
        """Send one request and return its reply (result or error frame)."""
        try:
            connection = await self._connected()
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            raise NoReply(repr(exc)) from exc
        self._next_id += 1
        request_id = str(self._next_id)
        waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = waiter
        frame = {"action": action, "request_id": request_id, **fields}
        try:
            await connection.send(json.dumps(frame))
            async with asyncio.timeout(REPLY_TIMEOUT):
                return await waiter
        except (websockets.ConnectionClosed, TimeoutError) as exc:
            raise NoReply(repr(exc)) from exc
        finally:
            self._pending.pop(request_id, None)
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # seen: the reader may fail it after our send failed

    async def _connected(self) -> ClientConnection:
        if self._connection is None or self._reader is None or self._reader.done():
            self._connection = await websockets.connect(self.url, max_size=2**22, open_timeout=15)
            self._reader = asyncio.create_task(self._read(self._connection))
        return self._connection

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for raw in connection:
                frame: Frame = json.loads(raw)
                waiter = self._pending.get(str(frame.get("request_id")))
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
                else:
                    self.other_frames += 1
        except websockets.ConnectionClosed:
            pass
        finally:
            for waiter in self._pending.values():
                if not waiter.done():
                    waiter.set_exception(NoReply("socket closed"))
