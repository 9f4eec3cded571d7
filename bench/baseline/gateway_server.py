"""Seed 004's notification server as the seed's design has it, for the gateway benchmark.

A FastAPI WebSocket endpoint ``/api/v1/notify/ws?token=`` that asks auth_service's
``/verify`` once per socket (no cache), keeps the open sockets in a dict user id -> list
of sockets, and one aiokafka consumer on ``notification.send`` that, record by record,
awaits ``send_text`` to each of the user's sockets in turn. Nothing is stored; a socket
whose send fails is dropped from the dict.

Run: ``python -m bench.baseline.gateway_server --port P --kafka B --auth-url U``
(``--fetch-max-wait-ms``: how long a fetch waits for records, aiokafka's 500 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from shared.events.topics import NOTIFICATION_SEND

log = logging.getLogger("baseline.gateway")


def create_app(kafka: str, auth_url: str, fetch_max_wait_ms: int) -> FastAPI:
    connections: dict[str, list[WebSocket]] = defaultdict(list)
    http = httpx.AsyncClient(timeout=5)

    async def consume() -> None:
        consumer = AIOKafkaConsumer(
            NOTIFICATION_SEND,
            bootstrap_servers=kafka,
            group_id="notify-baseline",
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        await consumer.start()
        try:
            async for message in consumer:
                try:
                    data = json.loads(message.value)
                    user_id = data["user_id"]
                    text = json.dumps(
                        {"title": data["subject"], "body": data["content"]}, ensure_ascii=False
                    )
                except (ValueError, KeyError, TypeError):
                    log.warning("bad record at offset %s", message.offset)
                    continue
                for websocket in list(connections.get(user_id, [])):
                    try:
                        await websocket.send_text(text)
                    except Exception:
                        with contextlib.suppress(ValueError):
                            connections[user_id].remove(websocket)
        finally:
            await consumer.stop()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(consume())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await http.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/api/v1/notify/ws")
    async def notify(websocket: WebSocket, token: str = "") -> None:
        response = await http.get(f"{auth_url}/api/v1/auth/verify", params={"token": token})
        if response.status_code != 200:
            await websocket.close(code=1008)
            return
        user_id = str(response.json()["user_id"])
        await websocket.accept()
        connections[user_id].append(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            with contextlib.suppress(ValueError):
                connections[user_id].remove(websocket)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--auth-url", required=True)
    # aiokafka's default; the benchmark gives both gateways the same value.
    parser.add_argument("--fetch-max-wait-ms", type=int, default=500)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.kafka, args.auth_url.rstrip("/"), args.fetch_max_wait_ms),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
