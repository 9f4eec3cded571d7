"""Every operation of the OpenAPI document under schemathesis, all checks, on the real
app and PostgreSQL, as a user of the real auth_service."""

from __future__ import annotations

from pathlib import Path

from shared.testing.auth_service import register_and_login
from shared.testing.fuzz import schemathesis_run
from tests.conftest import SettingsFactory
from tests.support import serve_orders

CONFIG = Path(__file__).with_name("schemathesis.toml")


async def test_openapi_holds_under_fuzzing(
    make_settings: SettingsFactory, auth_service_url: str
) -> None:
    user = await register_and_login(auth_service_url)
    async with serve_orders(make_settings()) as base_url:
        code, report = await schemathesis_run(
            f"{base_url}/openapi.json",
            config_file=CONFIG,
            env={"FUZZ_ACCESS_TOKEN": user.access_token},
        )
    assert code == 0, report
