"""What every service's FastAPI app has: error shapes, correlation ids, health, metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import install_error_handlers
from shared.logging import correlation_id
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS, install_metrics

ReadinessCheck = Callable[[], Awaitable[None]]
CORRELATION_HEADER = "x-correlation-id"


class CorrelationMiddleware:
    """Takes the caller's correlation id (or makes one), exposes it to logs and events,
    echoes it in the response, and counts requests per route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or ()).get(CORRELATION_HEADER.encode())
        cid = incoming.decode("latin-1")[:64] if incoming else uuid.uuid4().hex
        token = correlation_id.set(cid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), cid.encode()),
                ]
            await send(message)

        try:
            # A socket's frames pass as they are: no header to add, and one wrapper
            # call fewer per frame.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            correlation_id.reset(token)
            if scope["type"] == "http":
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
                HTTP_LATENCY.labels(scope["method"], path).observe(time.perf_counter() - started)


def install_common(
    app: FastAPI,
    *,
    cors_origins: list[str] | None = None,
) -> None:
    """Error handlers, correlation ids, CORS, ``/healthz``, ``/readyz`` and ``/metrics``.

    Readiness checks are read from ``app.state.readiness`` (set by the lifespan), a
    mapping of name to a coroutine that raises when its dependency is unreachable.
    """
    install_error_handlers(app)
    install_metrics(app)
    app.add_middleware(CorrelationMiddleware)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    @app.get("/healthz", tags=["health"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Database, Redis and Kafka are reachable",
        responses={503: {"description": "A dependency is unreachable"}},
    )
    async def readyz() -> JSONResponse:
        checks: Mapping[str, ReadinessCheck] = getattr(app.state, "readiness", {})
        results = await asyncio.gather(*(_run_check(c) for c in checks.values()))
        report: dict[str, Any] = dict(zip(checks, results, strict=True))
        ready = all(r == "ok" for r in results)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=3.0)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
