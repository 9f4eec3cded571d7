"""No access token in any log line, uvicorn's WebSocket lines included."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog

from shared.logging import configure_logging
from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import close_code, connect, serve_gateway


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
async def test_tokens_never_reach_the_logs(
    auth_service_url: str, make_settings: SettingsFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    user = await register_and_login(auth_service_url)
    configure_logging(level="INFO")
    async with serve_gateway(make_settings(), wait_consuming=False) as gateway:
        async with connect(gateway.ws_url(user.access_token, v="2")) as ws:
            await ws.send(json.dumps({"type": "refresh", "token": user.access_token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "refreshed"
        bad = user.access_token[:-8] + "AAAAAAAA"
        async with connect(gateway.ws_url(bad)) as ws:
            assert (await close_code(ws))[0] == 4401
        async with httpx.AsyncClient(base_url=gateway.base_url) as client:
            await client.get("/api/v1/notify/notifications", headers=user.headers)
            await client.get(f"/api/v1/notify/notifications?token={user.access_token}")
    logged = capsys.readouterr().err
    assert "WebSocket /api/v1/notify/ws?" in logged, "uvicorn's handshake lines were captured"
    assert "token=[redacted]" in logged
    for secret in (user.access_token, bad, user.access_token.split(".")[2]):
        assert secret not in logged
