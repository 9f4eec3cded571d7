"""Seed 004 end to end, as the README walks through it: register, log in, connect with
?token=, produce the seed's record to notification.send, see the seed's frame."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer

from shared.testing.auth_service import register_and_login
from tests.support import Served, connect, receive_json

SUBJECT = "Новый фильм"
CONTENT = "Фильм 'Как закалялась сталь' теперь доступен для просмотра"


async def test_seed_record_arrives_as_the_seed_frame(
    auth_service_url: str, gateway: Served, producer: AIOKafkaProducer
) -> None:
    user = await register_and_login(auth_service_url)
    settings = gateway.gateway.settings
    async with (
        connect(gateway.ws_url(user.access_token)) as ws,
    ):
        # One line of the console producer, as pasted from the seed.
        line = (
            f'{{"message_id": "{uuid4()}","delivery_method": "push","user_id": "{user.id}",'
            f'"subject":"{SUBJECT}", "content": "{CONTENT}"}}'
        )
        await producer.send_and_wait(settings.notification_topic, line.encode())

        raw = await ws.recv()
        assert json.loads(raw) == {"title": SUBJECT, "body": CONTENT}
        assert raw == json.dumps({"title": SUBJECT, "body": CONTENT}, ensure_ascii=False)


async def test_v2_envelope_carries_id_type_and_time(
    auth_service_url: str, gateway: Served, producer: AIOKafkaProducer
) -> None:
    user = await register_and_login(auth_service_url)
    settings = gateway.gateway.settings
    message_id = uuid4()
    async with (
        connect(gateway.ws_url(user.access_token, v="2")) as ws,
    ):
        record = {
            "message_id": str(message_id),
            "delivery_method": "push",
            "user_id": str(user.id),
            "subject": "s",
            "content": "c",
        }
        await producer.send_and_wait(settings.notification_topic, json.dumps(record).encode())
        frame = await receive_json(ws)
        async with httpx.AsyncClient(base_url=gateway.base_url) as client:
            inbox = await client.get("/api/v1/notify/notifications", headers=user.headers)
        assert frame.keys() == {"id", "type", "created_at", "title", "body"}
        # The socket writes times as REST does.
        assert frame["created_at"] == inbox.json()["items"][0]["created_at"]
        assert (frame["id"], frame["type"], frame["title"], frame["body"]) == (
            str(message_id),
            "notification",
            "s",
            "c",
        )
