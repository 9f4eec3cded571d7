"""The fixtures other services use: auth_service run as a subprocess."""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.auth.tokens import SigningKey
from shared.testing.auth_service import auth_service_process, register_and_login


async def test_register_and_verify_through_the_subprocess(auth_service_url: str) -> None:
    user = await register_and_login(auth_service_url, display_name="Fixture User")
    async with httpx.AsyncClient(base_url=auth_service_url) as client:
        verified = await client.get("/api/v1/auth/verify", headers=user.headers)
    assert verified.status_code == 200
    assert verified.json()["user_id"] == str(user.id)
    assert verified.json()["display_name"] == "Fixture User"


async def test_the_signing_key_fixture_is_the_one_in_use(
    auth_service_url: str, auth_signing_key: SigningKey
) -> None:
    async with httpx.AsyncClient(base_url=auth_service_url) as client:
        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert keys == [auth_signing_key.public_jwk]


async def test_another_instance_with_its_own_settings(
    postgres_server_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with auth_service_process(
        postgres_server_url=postgres_server_url,
        kafka_bootstrap=kafka_bootstrap,
        workdir=tmp_path,
        settings={"AUTH_ACCESS_TOKEN_TTL_SECONDS": "30"},
    ) as base_url:
        user = await register_and_login(base_url)
        async with httpx.AsyncClient(base_url=base_url) as client:
            login = await client.post(
                "/api/v1/auth/login", data={"username": user.email, "password": user.password}
            )
    assert login.json()["expires_in"] == 30
