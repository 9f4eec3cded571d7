"""What every service's FastAPI app has: error shapes, correlation ids, health, metrics,
and interactive docs that work with no internet."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import install_error_handlers
from shared.logging import correlation_id
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS, install_metrics

ReadinessCheck = Callable[[], Awaitable[None]]
CORRELATION_HEADER = "x-correlation-id"
# Swagger UI's and ReDoc's files, as the fastapi-offline package ships them.
DOCS_ASSETS = "/docs/assets"


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
    """Error handlers, correlation ids, CORS, ``/healthz``, ``/readyz``, ``/metrics``, and
    the app's ``/docs`` and ``/redoc`` served with no file from another origin.

    Readiness checks are read from ``app.state.readiness`` (set by the lifespan), a
    mapping of name to a coroutine that raises when its dependency is unreachable.
    """
    install_error_handlers(app)
    install_metrics(app)
    _serve_docs_locally(app)
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


def _serve_docs_locally(app: FastAPI) -> None:
    """FastAPI's own ``/docs`` and ``/redoc`` pages load their scripts, styles, icon and
    fonts from CDNs, so they stay blank on a machine with no internet. These are the same
    pages, with the app's settings, fetching those files from the service instead.

    The OAuth2 redirect page FastAPI serves is inline HTML, so it stays as it is."""
    openapi_url = app.openapi_url
    if not openapi_url or not (app.docs_url or app.redoc_url):
        return
    replaced = {app.docs_url, app.redoc_url}
    app.router.routes[:] = [
        r for r in app.router.routes if not (isinstance(r, Route) and r.path in replaced)
    ]
    app.mount(
        DOCS_ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets"
    )

    if app.docs_url:

        async def swagger_ui(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "").rstrip("/")
            redirect = app.swagger_ui_oauth2_redirect_url
            return get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
                oauth2_redirect_url=root + redirect if redirect else None,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )

        app.add_route(app.docs_url, swagger_ui, include_in_schema=False)

    if app.redoc_url:

        async def redoc(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "").rstrip("/")
            return get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
                with_google_fonts=False,
            )

        app.add_route(app.redoc_url, redoc, include_in_schema=False)


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=3.0)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
