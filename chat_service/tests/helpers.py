"""Test helpers: a REST client per user and a JSON WebSocket client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import websockets
from fastapi import FastAPI
from sqlalchemy import event
from websockets.asyncio.client import ClientConnection

from chat_service.state import ChatState

WAIT = 10.0


@dataclass(frozen=True)
class Person:
    id: UUID
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    client: httpx.AsyncClient
    base_url: str

    async def call(
        self, person: Person | None, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = person.headers if person is not None else {}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def create_chat(
        self, owner: Person, *members: Person | UUID, name: str = "chat"
    ) -> dict[str, Any]:
        ids = [str(m.id if isinstance(m, Person) else m) for m in members]
        response = await self.call(
            owner, "POST", "/api/v1/chats", json={"name": name, "member_ids": ids}
        )
        assert response.status_code == 201, response.text
        chat: dict[str, Any] = response.json()
        return chat

    async def send(
        self, person: Person, chat_id: str, text: str, client_message_id: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"text": text}
        if client_message_id is not None:
            body["client_message_id"] = client_message_id
        return await self.call(person, "POST", f"/api/v1/chats/{chat_id}/messages", json=body)

    async def messages(self, person: Person, chat_id: str, **params: Any) -> dict[str, Any]:
        response = await self.call(
            person, "GET", f"/api/v1/chats/{chat_id}/messages", params=params
        )
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page


@contextmanager
def count_queries(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block (its background tasks' too)."""
    state: ChatState = app.state.chat
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    engine = state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def ws_url(base_url: str, path: str, token: str | None = None) -> str:
    url = base_url.replace("http://", "ws://", 1) + path
    return f"{url}?token={token}" if token else url


class Socket:
    """A JSON WebSocket client that can skip frames it is not waiting for."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._next_id = 0
        # Frames ``until`` read past, newest last (events that came before a reply).
        self.skipped: list[dict[str, Any]] = []
        # Frames ``closed`` read while waiting for the close.
        self.received: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if predicate(frame):
                    return frame
                self.skipped.append(frame)

    async def event(self, name: str, timeout: float = WAIT) -> dict[str, Any]:
        return await self.until(
            lambda f: f.get("type") == "event" and f.get("event") == name, timeout
        )

    async def request(self, action: str, **fields: Any) -> dict[str, Any]:
        """Send an action and return its reply (result or error), skipping events."""
        self._next_id += 1
        request_id = f"r{self._next_id}"
        await self.send({"action": action, "request_id": request_id, **fields})
        return await self.until(
            lambda f: f.get("type") in ("result", "error") and f.get("request_id") == request_id
        )

    async def closed(self, timeout: float = WAIT) -> tuple[int | None, str | None]:
        """Read until the server closes; returns the close code and reason."""
        try:
            async with asyncio.timeout(timeout):
                async for raw in self.connection:
                    self.received.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        await self.connection.wait_closed()
        return self.connection.close_code, self.connection.close_reason


@asynccontextmanager
async def connect(
    base_url: str,
    path: str,
    person: Person | None = None,
    *,
    header: bool = False,
    **kwargs: Any,
) -> AsyncIterator[Socket]:
    """Open a socket, token in ``?token=`` (or the Authorization header)."""
    token = person.token if person is not None and not header else None
    headers = person.headers if person is not None and header else None
    async with websockets.connect(
        ws_url(base_url, path, token),
        additional_headers=headers,
        max_size=2**22,
        open_timeout=WAIT,
        **kwargs,
    ) as connection:
        yield Socket(connection)
