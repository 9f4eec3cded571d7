"""Scenario 7: 1% poison records in notification.send. Every good record is delivered,
every poison one is dead-lettered (and only those), and the consumer lag returns to 0."""

from __future__ import annotations

import json
from collections import Counter
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from bench.faults.checker import Ledger
from bench.faults.gateway_clients import Devices, round_robin, settled, until
from bench.faults.gateway_kafka import Outgoing, lag, notification, produce, read_all
from bench.faults.gateway_processes import GatewayFleet, running
from shared.events.topics import dead_letter
from shared.testing.auth_service import AuthUser

RECORDS = 2_000
POISON_EVERY = 100  # 1%


def poison(n: int) -> tuple[bytes, str]:
    """A bad record of one of four kinds, with the reason the gateway should give."""
    user = str(uuid4())
    kind = (n // POISON_EVERY) % 4
    if kind == 0:
        return b"\xff\x00 not json {", "not_json"
    if kind == 1:
        wrong = {"message_id": 7, "delivery_method": "push", "user_id": [user], "subject": {}}
        return json.dumps(wrong).encode(), "invalid_fields"
    if kind == 2:
        return notification(uuid4(), uuid4(), "by carrier pigeon", delivery_method="sms"), (
            "unknown_delivery_method"
        )
    return notification(uuid4(), uuid4(), "x" * 40_000), "oversized"


@pytest.mark.timeout(300)
async def test_gateway_dead_letters_poison_and_delivers_the_rest(
    gateway_fleet: GatewayFleet, gateway_users: list[AuthUser], gateway_producer: AIOKafkaProducer
) -> None:
    ledger = Ledger(f"gateway, 1% poison ({RECORDS} records)")
    gateway = gateway_fleet.instance("a")
    devices = Devices(gateway_users, ledger)
    good = iter(round_robin(ledger, gateway_users, devices, RECORDS - RECORDS // POISON_EVERY))
    outgoing, reasons = [], Counter[str]()
    for n in range(RECORDS):
        if n % POISON_EVERY == POISON_EVERY // 2:
            value, reason = poison(n)
            reasons[reason] += 1
            outgoing.append(Outgoing(value))
        else:
            outgoing.append(next(good))
    kafka, topic = gateway_fleet.kafka_bootstrap, gateway_fleet.topic
    async with running(gateway):
        try:
            await devices.hold(lambda: gateway.ws_url)
            assert all(await produce(gateway_producer, topic, outgoing))
            await settled(ledger, timeout=180)
            await until(lambda: _no_lag(kafka, gateway_fleet.group, topic), timeout=60)
        finally:
            await devices.close()
    dead = await read_all(kafka, dead_letter(topic))
    ledger.dead_lettered = len(dead)
    ledger.assert_clean()
    assert sum(reasons.values()) == RECORDS // POISON_EVERY
    assert Counter(dict(r.headers)["dlq_reason"].decode() for r in dead) == reasons


async def _no_lag(kafka: str, group: str, topic: str) -> bool:
    return await lag(kafka, group, topic) == 0
