from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request
from pydantic import ValidationError

from shared.config import CLIENT_KEEP_ALIVE, ServiceSettings
from shared.http import server_options, service_client
from shared.testing.server import serve


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/peer")
    async def peer(request: Request) -> int:
        """The client's port: the same on a reused connection."""
        assert request.client is not None
        return request.client.port

    return app


async def _ports(idle: float, **server: float) -> tuple[int, int]:
    """The ports two requests came from, ``idle`` seconds apart, over one client."""
    async with serve(_app(), **server) as url, service_client() as client:
        first = (await client.get(f"{url}/peer")).json()
        await asyncio.sleep(idle)
        second = (await client.get(f"{url}/peer")).json()
    return first, second


async def test_a_connection_idle_past_the_usual_five_seconds_is_reused() -> None:
    # uvicorn and httpx both drop an idle connection after 5 s by default, so a request
    # then could go out on a connection the server was closing, and get no answer.
    first, second = await _ports(idle=6.0)
    assert first == second


async def test_a_server_closes_a_connection_idle_past_its_keep_alive() -> None:
    first, second = await _ports(idle=1.5, timeout_keep_alive=0.5)
    assert first != second, "the client noticed and opened a new connection"


@pytest.mark.parametrize(
    ("trusted", "seen"), [("127.0.0.1", "203.0.113.7"), ("192.0.2.1", "127.0.0.1")]
)
async def test_the_client_address_comes_from_x_forwarded_for_of_trusted_peers_only(
    trusted: str, seen: str
) -> None:
    app = FastAPI()

    @app.get("/host")
    async def host(request: Request) -> str:
        assert request.client is not None
        return request.client.host

    options = server_options(ServiceSettings(forwarded_allow_ips=trusted))
    async with (
        serve(app, forwarded_allow_ips=options["forwarded_allow_ips"]) as url,
        service_client() as client,
    ):
        response = await client.get(f"{url}/host", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.json() == seen


def test_a_server_keep_alive_under_the_clients_is_refused() -> None:
    with pytest.raises(ValidationError, match="http_keep_alive"):
        ServiceSettings(http_keep_alive=CLIENT_KEEP_ALIVE)
