"""Every operation of the OpenAPI document under schemathesis, all checks, on the real
gateway and PostgreSQL, as a user of the real auth_service who has notifications."""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaProducer

from shared.testing.auth_service import register_and_login
from shared.testing.fuzz import schemathesis_run
from tests.support import Served, connect, notification, receive_json

CONFIG = Path(__file__).with_name("schemathesis.toml")


async def test_openapi_holds_under_fuzzing(
    gateway: Served, producer: AIOKafkaProducer, auth_service_url: str
) -> None:
    user = await register_and_login(auth_service_url)
    # Something in the inbox, so listing and marking have rows to work on.
    async with connect(gateway.ws_url(user.access_token)) as ws:
        topic = gateway.gateway.settings.notification_topic
        for n in range(3):
            await producer.send_and_wait(topic, notification(user.id, "t", str(n)))
            await receive_json(ws)
    code, report = await schemathesis_run(
        f"{gateway.base_url}/openapi.json",
        config_file=CONFIG,
        env={"FUZZ_ACCESS_TOKEN": user.access_token},
    )
    assert code == 0, report
