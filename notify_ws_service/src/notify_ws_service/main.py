"""The notification gateway's FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from notify_ws_service.config import Settings, get_settings
from notify_ws_service.gateway import Gateway
from notify_ws_service.inbox.router import router as inbox_router
from notify_ws_service.ws.router import router as ws_router
from shared.app import install_common


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    gateway = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        app.state.readiness = gateway.readiness()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="notify_ws_service",
        summary="Pushes notifications to users' WebSockets; keeps their inboxes",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    install_common(app, cors_origins=settings.cors_origins)
    app.include_router(ws_router)
    app.include_router(inbox_router)
    return app
