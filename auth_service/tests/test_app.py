"""The app as a whole: health, readiness, CORS for the other Swagger pages, JWKS,
the OpenAPI document, and logs that never carry a token or a password."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from auth_service.main import create_app
from shared.auth.tokens import SigningKey
from shared.logging import configure_logging
from shared.testing.auth_service import register_and_login
from shared.testing.server import serve
from tests.conftest import MakeSettings


class TestHealth:
    async def test_healthz(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}

    async def test_readyz_checks_database_and_kafka(self, client: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + 30
        while True:
            response = await client.get("/readyz")
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)  # the producer connects in the background
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "kafka": "ok"}

    async def test_readyz_reports_an_unreachable_database(
        self, make_settings: MakeSettings
    ) -> None:
        settings = make_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
        async with (
            serve(create_app(settings)) as base_url,
            httpx.AsyncClient(base_url=base_url) as client,
        ):
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"].startswith("error")


class TestCors:
    @pytest.mark.parametrize("origin", ["http://localhost:8002", "http://127.0.0.1:8000"])
    async def test_other_local_swagger_pages_may_log_in(
        self, client: httpx.AsyncClient, origin: str
    ) -> None:
        response = await client.options(
            "/api/v1/auth/login",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin

    async def test_other_origins_may_not(self, client: httpx.AsyncClient) -> None:
        response = await client.options(
            "/api/v1/auth/login",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in response.headers


class TestJwks:
    async def test_publishes_the_public_key_only(
        self, client: httpx.AsyncClient, signing_key: SigningKey
    ) -> None:
        response = await client.get("/.well-known/jwks.json")
        assert response.status_code == 200
        (key,) = response.json()["keys"]
        assert key == signing_key.public_jwk
        assert key["alg"] == "RS256"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


class TestOpenApi:
    async def test_every_operation_is_documented(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                assert operation.get("summary"), f"{method} {path} has no summary"
                success = [code for code in operation["responses"] if code.startswith("2")]
                assert success, f"{method} {path} documents no success"
        login = document["paths"]["/api/v1/auth/login"]["post"]
        assert "application/x-www-form-urlencoded" in login["requestBody"]["content"]
        schemes = document["components"]["securitySchemes"]
        assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == (
            "/api/v1/auth/login"
        )
        assert "ErrorBody" in document["components"]["schemas"]


class TestMetrics:
    async def test_logins_are_counted(self, client: httpx.AsyncClient) -> None:
        await register_and_login(str(client.base_url))
        text = (await client.get("/metrics")).text
        assert 'auth_logins_total{outcome="succeeded"}' in text
        assert "auth_registrations_total" in text


@pytest.fixture
def service_logs() -> Iterator[io.StringIO]:
    """The service's logging set-up for one test, writing into a buffer; the test
    runner's set-up is restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    client_loggers = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    configure_logging(level="DEBUG")
    buffer = io.StringIO()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)
    # The test's own HTTP client is not the service: its request lines stay out.
    for name in client_loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
    yield buffer
    root.handlers, root.level = handlers, level
    for name, client_level in client_loggers.items():
        logging.getLogger(name).setLevel(client_level)


class TestLogs:
    async def test_no_token_or_password_is_logged(
        self, client: httpx.AsyncClient, service_logs: io.StringIO
    ) -> None:
        password = "a secret passphrase 7"
        user = await register_and_login(str(client.base_url), password=password)
        await client.get("/api/v1/auth/verify", params={"token": user.access_token})
        await client.get("/api/v1/auth/verify", headers={"Authorization": "Bearer broken.x.y"})
        await client.post(
            "/api/v1/auth/login", data={"username": user.email, "password": password + "!"}
        )
        await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})

        logged = service_logs.getvalue()
        assert "/api/v1/auth/verify" in logged  # the access log was captured
        for secret in (user.access_token, user.refresh_token, password, "broken.x.y"):
            assert secret not in logged
