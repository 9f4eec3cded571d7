"""Scenario 6: the same records delivered twice. Every notification is produced twice
(the same message_id re-produced), and the gateway is killed after pushing a batch and
before its offsets are committed, so the next instance consumes that batch again. No
socket gets a notification twice, none is missed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random

import pytest

from bench.faults.checker import Ledger
from bench.faults.gateway_clients import Devices, quiet_for, round_robin, settled, until
from bench.faults.gateway_freeze import broker_behind_freezing_proxy
from bench.faults.gateway_kafka import Outgoing, committed, create_topic, lag, produce
from bench.faults.gateway_processes import GatewayFleet, running
from shared.kafka import create_producer
from shared.testing.auth_service import AuthUser

NOTIFICATIONS = 1_000


def twice(outgoing: list[Outgoing]) -> list[Outgoing]:
    """Each record, then all of them again in another order (seed 004's producer
    retrying): the copies carry the same message_id."""
    again = [dataclasses.replace(record, acknowledged=lambda: None) for record in outgoing]
    random.Random(6).shuffle(again)
    return outgoing + again


@pytest.mark.timeout(300)
async def test_gateway_pushes_records_consumed_twice_once(
    gateway_fleet: GatewayFleet, gateway_users: list[AuthUser]
) -> None:
    ledger = Ledger(f"gateway, records delivered twice ({NOTIFICATIONS} notifications x 2)")
    devices = Devices(gateway_users, ledger)
    async with broker_behind_freezing_proxy() as proxy:
        fleet = dataclasses.replace(gateway_fleet, kafka_bootstrap=proxy.address)
        await create_topic(fleet.kafka_bootstrap, fleet.topic)
        producer = create_producer(fleet.kafka_bootstrap, client_id="faults-twice")
        await producer.start()
        first, second = fleet.instance("a"), fleet.instance("b")
        target = {"url": first.ws_url}
        try:
            async with running(first):
                await devices.hold(lambda: target["url"])
                warm_up = round_robin(ledger, gateway_users, devices, NOTIFICATIONS // 2, "a")
                await produce(producer, fleet.topic, twice(warm_up))
                await settled(ledger, quiet=0.5)

                # A burst the instance fetches in one go; once its first batch reached the
                # sockets, nothing it sends reaches the broker again: the next batch is
                # stored and pushed, and its commit is lost with the instance.
                burst = round_robin(ledger, gateway_users, devices, NOTIFICATIONS // 2, "b")
                before = sum(ledger.received.values())
                sending = asyncio.create_task(produce(producer, fleet.topic, twice(burst)))
                await until(lambda: sum(ledger.received.values()) > before, timeout=60, every=0.01)
                proxy.freeze(first.pid)
                landed = await sending
                await quiet_for(ledger, 1.0)
                await first.kill()
                ledger.fault_ended()
                seen = {key[1] for key in ledger.received if isinstance(key, tuple)}
                offsets = await committed(fleet.kafka_bootstrap, fleet.group, fleet.topic)
                # Records whose notification users already got, past the committed offset.
                pushed_uncommitted = sum(
                    1
                    for record, where in zip(twice(burst), landed, strict=True)
                    if where is not None
                    and where.offset >= offsets.get(where.partition, 0)
                    and json.loads(record.value)["message_id"] in seen
                )
            target["url"] = second.ws_url
            async with running(second):
                await settled(ledger, timeout=180)
                await until(lambda: _no_lag(fleet), timeout=120)
                await settled(ledger, quiet=1.0)
        finally:
            await devices.close()
            await producer.stop()
    ledger.assert_clean()
    print(f"  pushed before the kill and consumed again after it: {pushed_uncommitted}")
    assert pushed_uncommitted > 0, "the kill left delivered records uncommitted"


async def _no_lag(fleet: GatewayFleet) -> bool:
    return await lag(fleet.kafka_bootstrap, fleet.group, fleet.topic) == 0
