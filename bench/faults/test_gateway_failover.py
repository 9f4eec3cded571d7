"""Scenario 4: a gateway instance killed (SIGKILL) under 1,000 connected sockets while
records flow; the sockets resume with ``since=`` on the other instance and miss nothing,
and no socket gets a notification twice across the drop."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer

from bench.faults.checker import Ledger
from bench.faults.gateway_clients import Devices, how_repeated, round_robin, settled, until
from bench.faults.gateway_kafka import paced, produce
from bench.faults.gateway_processes import GatewayFleet, running
from shared.testing.auth_service import AuthUser

SOCKETS_PER_USER = 50  # x 20 users: 1,000 sockets
RECORDS = 1_500
PER_SECOND = 300


@pytest.mark.timeout(300)
async def test_gateway_killed_under_load_sockets_resume_elsewhere(
    gateway_fleet: GatewayFleet, gateway_users: list[AuthUser], gateway_producer: AIOKafkaProducer
) -> None:
    ledger = Ledger(f"gateway instance killed ({SOCKETS_PER_USER * len(gateway_users)} sockets)")
    # The killed instance's sockets hold their per-user places until their leases lapse.
    caps = {"MAX_SOCKETS_PER_USER": str(3 * SOCKETS_PER_USER)}
    doomed, survivor = gateway_fleet.instance("a", **caps), gateway_fleet.instance("b", **caps)
    devices = Devices(gateway_users, ledger, per_user=SOCKETS_PER_USER)
    # The load balancer: everyone on the doomed instance, then on the survivor.
    target = {"url": doomed.ws_url}
    topic = gateway_fleet.topic
    async with running(doomed, survivor):
        try:
            await devices.hold(lambda: target["url"])
            # Each socket gets one notification first, so it has an id to resume from.
            warm_up = round_robin(ledger, gateway_users, devices, len(gateway_users), "warm-up ")
            await produce(gateway_producer, topic, warm_up)
            await settled(ledger, quiet=0.2, timeout=120)

            flow = asyncio.create_task(
                paced(
                    gateway_producer,
                    topic,
                    round_robin(ledger, gateway_users, devices, RECORDS, "flow "),
                    per_second=PER_SECOND,
                )
            )
            # Kill while a third of the records are still to come.
            frames = len(ledger.sent)
            await until(lambda: sum(ledger.received.values()) > frames / 3, timeout=120)
            await doomed.kill()
            ledger.fault_ended()
            target["url"] = survivor.ws_url
            await flow
            await settled(ledger, timeout=180)
        finally:
            await devices.close()
    print(f"  repeated: {dict(how_repeated(devices.all, ledger))}")
    ledger.assert_clean()
    assert all(d.sessions >= 2 for d in devices.all), "every socket moved to the survivor"
    assert all(d.recovered and all(d.recovered) for d in devices.all), "every resume complete"
