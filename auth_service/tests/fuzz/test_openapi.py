"""Every operation of the OpenAPI document under schemathesis, all checks, on the real
app and PostgreSQL, authenticated as a real user."""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.testing.auth_service import register_and_login
from shared.testing.fuzz import schemathesis_run

CONFIG = Path(__file__).with_name("schemathesis.toml")


async def test_openapi_holds_under_fuzzing(base_url: str) -> None:
    user = await register_and_login(base_url)
    # A second session of the same user, for logout to end.
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        login = await client.post(
            "/api/v1/auth/login", data={"username": user.email, "password": user.password}
        )
    assert login.status_code == 200, login.text
    code, report = await schemathesis_run(
        f"{base_url}/openapi.json",
        config_file=CONFIG,
        env={
            "FUZZ_ACCESS_TOKEN": user.access_token,
            "FUZZ_LOGOUT_TOKEN": login.json()["access_token"],
        },
    )
    assert code == 0, report
