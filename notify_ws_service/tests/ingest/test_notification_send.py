"""The notification.send consumer: bad records skipped and dead-lettered, duplicates
pushed once, every socket of the user served and nobody else."""

from __future__ import annotations

import json
from uuid import uuid4

from aiokafka import AIOKafkaProducer

from shared.events.topics import dead_letter
from shared.testing.auth_service import register_and_login
from tests.support import (
    Served,
    connect,
    nothing_within,
    notification,
    read_topic,
    receive_json,
)


class TestBadRecords:
    async def test_only_the_good_record_is_delivered_and_the_bad_are_dead_lettered(
        self,
        auth_service_url: str,
        kafka_bootstrap: str,
        gateway: Served,
        producer: AIOKafkaProducer,
    ) -> None:
        user = await register_and_login(auth_service_url)
        settings = gateway.gateway.settings
        topic = settings.notification_topic
        bad = [
            b"not json",
            b"[1, 2]",
            json.dumps({"message_id": str(uuid4()), "user_id": str(user.id)}).encode(),
            notification(user.id, delivery_method="email"),
            notification(user.id, content="x" * 40_000),
            notification(user.id).replace(b'"message_id": "', b'"message_id": "nope'),
            # Lone surrogates (JSON escapes): refused, and quoted safely in the headers.
            notification(user.id).replace(b'"push"', b'"\\ud800"'),
            notification(user.id).replace(b'"message_id": "', b'"message_id": "\\ud800'),
        ]
        async with (
            connect(gateway.ws_url(user.access_token)) as ws,
        ):
            key = str(user.id).encode()  # one partition: the good one comes after the bad
            for value in bad:
                await producer.send_and_wait(topic, value, key=key)
            await producer.send_and_wait(topic, notification(user.id, "good", "one"), key=key)

            assert await receive_json(ws) == {"title": "good", "body": "one"}
            assert await nothing_within(ws, 1.0)

        parked = await read_topic(kafka_bootstrap, dead_letter(topic), len(bad))
        assert sorted(r.value for r in parked if r.value) == sorted(bad)
        reasons = {dict(r.headers)["dlq_reason"].decode() for r in parked}
        details = {dict(r.headers).get("dlq_detail", b"").decode() for r in parked}
        assert any(d.startswith("delivery_method: Field required") for d in details), details
        assert any(d.startswith("message_id: Input should be a valid UUID") for d in details)
        assert reasons == {
            "not_json",
            "not_an_object",
            "invalid_fields",
            "unknown_delivery_method",
            "oversized",
        }


class TestDelivery:
    async def test_same_message_id_twice_is_pushed_once_to_every_socket_of_the_user(
        self,
        auth_service_url: str,
        gateway: Served,
        producer: AIOKafkaProducer,
    ) -> None:
        user = await register_and_login(auth_service_url)
        other = await register_and_login(auth_service_url)
        settings = gateway.gateway.settings
        message_id = uuid4()
        async with (
            connect(gateway.ws_url(user.access_token)) as first,
            connect(gateway.ws_url(user.access_token)) as second,
            connect(gateway.ws_url(other.access_token)) as stranger,
        ):
            record = notification(user.id, "once", "only", message_id=message_id)
            key = str(user.id).encode()
            topic = settings.notification_topic
            await producer.send_and_wait(topic, record, key=key)
            await producer.send_and_wait(topic, record, key=key)
            await producer.send_and_wait(topic, notification(user.id, "then", "this"), key=key)
            for ws in (first, second):
                assert await receive_json(ws) == {"title": "once", "body": "only"}
                assert await receive_json(ws) == {"title": "then", "body": "this"}
                assert await nothing_within(ws, 1.0)
            assert await nothing_within(stranger, 0.5)
