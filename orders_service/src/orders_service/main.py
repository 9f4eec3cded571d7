"""The orders service's FastAPI app (``uvicorn --factory orders_service.main:create_app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from orders_service.config import Settings, get_settings
from orders_service.orders.router import router as orders_router
from orders_service.runtime import Runtime
from orders_service.ws.router import router as ws_router
from shared.app import install_common

DESCRIPTION = """
Orders of seed 003: REST at `/api/v1/orders` and the WebSocket `ws://HOST:8000/ws/orders`
run the same code. Every change commits together with its `orders.events` record.

WebSocket frames (JSON): `{"action": "ping"}` -> `{"type": "pong"}`;
`{"action": "create_order", "customer": "Yulia"}`;
`{"action": "change_status", "order_id": 1, "status": "paid"}`;
`{"action": "get_order", "order_id": 1}`;
`{"action": "list_orders", "status": "paid", "limit": 50, "offset": 0}`.
Results are `{"type": "result", "action": ..., "order": {"id", "customer", "status"}}`,
errors `{"type": "error", "action": ..., "error": ...}`; broadcasts `order_created` and
`order_status_changed` reach every socket for anonymous orders, and only the owner's
sockets and superusers' for orders made with a token (`?token=` or `Authorization`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        app.state.readiness = runtime.readiness()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="orders_service",
        summary="Orders over REST and WebSocket, every change on Kafka",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_common(app, cors_origins=settings.cors_origins)
    app.include_router(orders_router)
    app.include_router(ws_router)
    return app
