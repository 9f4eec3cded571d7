"""The error shapes every service shares, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from shared.errors import install_error_handlers
from shared.testing.server import serve


class Note(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/notes")
    async def list_notes() -> list[Note]:
        return []

    @app.post("/notes")
    async def add_note(note: Note) -> Note:
        return note

    return app


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(_app()) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


class TestMethodNotAllowed:
    async def test_allow_lists_every_route_of_the_path(self, client: httpx.AsyncClient) -> None:
        response = await client.request("OPTIONS", "/notes")
        assert response.status_code == 405
        assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


class TestUndecodableBody:
    async def test_not_utf8_is_a_validation_error(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/notes", content=b"\xff\xfe{", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"
