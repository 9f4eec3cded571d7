"""Helpers for the gateway's tests: serve it on a real port, talk to it like users do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from notify_ws_service.config import Settings
from notify_ws_service.gateway import Gateway
from notify_ws_service.main import create_app
from notify_ws_service.server import GatewayServer, gateway_server


@dataclass
class Served:
    base_url: str
    app: FastAPI
    server: GatewayServer
    task: asyncio.Task[None]

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    def ws_url(self, token: str | None = None, **params: str) -> str:
        query = dict(params)
        if token is not None:
            query["token"] = token
        text = "&".join(f"{k}={v}" for k, v in query.items())
        url = self.base_url.replace("http://", "ws://") + "/api/v1/notify/ws"
        return f"{url}?{text}" if text else url


@asynccontextmanager
async def serve_gateway(
    settings: Settings, *, wait_consuming: bool = True
) -> AsyncIterator[Served]:
    """The gateway under uvicorn (with its shutdown order) on a free port."""
    app = create_app(settings)
    server = gateway_server(app, settings, host="127.0.0.1", port=0)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    served = Served(f"http://127.0.0.1:{port}", app, server, task)
    try:
        if wait_consuming:
            await asyncio.wait_for(served.gateway.consuming.wait(), 60)
        yield served
    finally:
        server.should_exit = True
        await task


def notification(
    user_id: UUID, subject: str = "Subject", content: str = "Content", **extra: Any
) -> bytes:
    record = {
        "message_id": str(extra.pop("message_id", uuid4())),
        "delivery_method": "push",
        "user_id": str(user_id),
        "subject": subject,
        "content": content,
        **extra,
    }
    return json.dumps(record, ensure_ascii=False).encode()


async def receive_json(ws: ClientConnection, timeout: float = 30) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def close_code(ws: ClientConnection, timeout: float = 30) -> tuple[int, str]:
    """Read until the server closes; returns its close code and reason."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        if exc.rcvd is None:
            raise AssertionError("closed without a close frame") from exc
        return exc.rcvd.code, exc.rcvd.reason
    raise AssertionError("unreachable")


async def nothing_within(ws: ClientConnection, seconds: float) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


__all__ = ["close_code", "connect", "notification", "receive_json", "serve_gateway"]


async def read_topic(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(40):
            while len(seen) < count:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    seen.extend(records)
    finally:
        await consumer.stop()
    return seen


async def frames_until_recovered(ws: ClientConnection, timeout: float = 30) -> list[Any]:
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            frames.append(frame)
            if frame.get("type") == "recovered":
                return frames
