"""The app as a whole: health, readiness, CORS for the other Swagger pages, JWKS,
the OpenAPI document, and logs that never carry a token or a password."""

from __future__ import annotations

import asyncio
import time

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


class TestLogs:
    async def test_no_token_or_password_is_logged(
        self, client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(level="DEBUG")
        password = "a secret passphrase 7"
        user = await register_and_login(str(client.base_url), password=password)
        await client.get("/api/v1/auth/verify", params={"token": user.access_token})
        await client.get("/api/v1/auth/verify", headers={"Authorization": "Bearer broken.x.y"})
        await client.post(
            "/api/v1/auth/login", data={"username": user.email, "password": password + "!"}
        )
        await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})

        logged = capfd.readouterr().err
        assert "/api/v1/auth/verify" in logged  # the access log was captured
        for secret in (user.access_token, user.refresh_token, password, "broken.x.y"):
            assert secret not in logged
