"""The fixture other services use: auth_service run as a subprocess."""

from __future__ import annotations

import httpx

from shared.testing.auth_service import register_and_login


async def test_register_and_verify_through_the_subprocess(auth_service_url: str) -> None:
    user = await register_and_login(auth_service_url, display_name="Fixture User")
    async with httpx.AsyncClient(base_url=auth_service_url) as client:
        verified = await client.get("/api/v1/auth/verify", headers=user.headers)
        keys = await client.get("/.well-known/jwks.json")
    assert verified.status_code == 200
    assert verified.json()["user_id"] == str(user.id)
    assert verified.json()["display_name"] == "Fixture User"
    assert keys.json()["keys"][0]["alg"] == "RS256"
