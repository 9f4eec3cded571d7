"""Scenario 1, the baseline: 10,000 notifications with no fault; each acknowledged one
reaches its user's socket exactly once."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from bench.faults.checker import Ledger
from bench.faults.gateway_clients import Devices, round_robin, settled
from bench.faults.gateway_kafka import produce
from bench.faults.gateway_processes import GatewayFleet, running
from shared.testing.auth_service import AuthUser

NOTIFICATIONS = 10_000


@pytest.mark.timeout(300)
async def test_gateway_delivers_every_notification_once(
    gateway_fleet: GatewayFleet, gateway_users: list[AuthUser], gateway_producer: AIOKafkaProducer
) -> None:
    ledger = Ledger(f"gateway, no faults ({NOTIFICATIONS} notifications)")
    gateway = gateway_fleet.instance("a")
    devices = Devices(gateway_users, ledger)
    async with running(gateway):
        try:
            await devices.hold(lambda: gateway.ws_url)
            outgoing = round_robin(ledger, gateway_users, devices, NOTIFICATIONS)
            await produce(gateway_producer, gateway_fleet.topic, outgoing)
            await settled(ledger, timeout=240)
        finally:
            await devices.close()
    ledger.assert_clean()
    assert len(ledger.acknowledged) == NOTIFICATIONS
    # No fault: not one socket dropped on the way.
    assert [d.sessions for d in devices.all] == [1] * len(devices.all)
