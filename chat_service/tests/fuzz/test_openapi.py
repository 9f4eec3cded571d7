"""Every operation of the OpenAPI document under schemathesis, all checks, on the real
app and PostgreSQL, as a user of the real auth_service."""

from __future__ import annotations

from pathlib import Path

from shared.testing.fuzz import schemathesis_run
from tests.helpers import Person

CONFIG = Path(__file__).with_name("schemathesis.toml")


async def test_openapi_holds_under_fuzzing(chat_url: str, alice: Person) -> None:
    code, report = await schemathesis_run(
        f"{chat_url}/openapi.json", config_file=CONFIG, env={"FUZZ_ACCESS_TOKEN": alice.token}
    )
    assert code == 0, report
