"""Scenario 5: auth_service killed. New sockets are refused with 1013 and none is let in
unchecked; open sockets keep receiving (through token re-checks that cannot reach
auth_service); once auth_service is back, new sockets work."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from bench.faults.checker import Ledger
from bench.faults.gateway_clients import (
    Devices,
    handshake_outcome,
    round_robin,
    settled,
    socket_url,
)
from bench.faults.gateway_kafka import produce
from bench.faults.gateway_processes import GatewayFleet, ServiceProcess, running
from shared.testing.auth_service import AuthUser

NOTIFICATIONS = 1_000


async def fresh_token(auth_url: str, user: AuthUser) -> str:
    """A new login: a token the gateway has never checked, so none of its cache helps."""
    async with httpx.AsyncClient(base_url=auth_url, timeout=30) as client:
        response = await client.post(
            "/api/v1/auth/login", data={"username": user.email, "password": user.password}
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


@pytest.mark.timeout(300)
async def test_gateway_refuses_new_sockets_while_auth_is_down(
    gateway_fleet: GatewayFleet,
    gateway_users: list[AuthUser],
    gateway_producer: AIOKafkaProducer,
    killable_auth_service: ServiceProcess,
) -> None:
    auth = killable_auth_service
    ledger = Ledger("gateway, auth_service down")
    half = len(gateway_users) // 2
    connected, newcomers = gateway_users[:half], gateway_users[half:]
    # Open sockets re-check their token every second: all of those fail during the outage.
    gateway = gateway_fleet.instance("a", REVALIDATE_INTERVAL="1")
    open_devices = Devices(connected, ledger)
    tokens = await asyncio.gather(*(fresh_token(auth.url, u) for u in newcomers))
    later = Devices(newcomers, ledger)
    for device, token in zip(later.all, tokens, strict=True):
        device.token = token
    topic = gateway_fleet.topic
    async with running(gateway):
        try:
            await open_devices.hold(lambda: gateway.ws_url)
            await auth.kill()
            try:
                flow = asyncio.create_task(
                    produce(
                        gateway_producer,
                        topic,
                        round_robin(ledger, connected, open_devices, NOTIFICATIONS, "outage "),
                    )
                )
                outcomes = await asyncio.gather(
                    *(handshake_outcome(socket_url(gateway.ws_url, t)) for t in tokens)
                )
                await flow
                await settled(ledger, timeout=120)
            finally:
                await auth.start()
            ledger.fault_ended()
            await later.hold(lambda: gateway.ws_url)
            after = round_robin(ledger, newcomers, later, NOTIFICATIONS // 10, "back ")
            await produce(gateway_producer, topic, after)
            await settled(ledger, timeout=120)
        finally:
            await open_devices.close()
            await later.close()
    ledger.assert_clean()
    print(f"  new sockets while auth_service was down: {Counter(outcomes)}")
    assert outcomes == [1013] * len(newcomers), "refused with 1013, none let in"
    assert all(d.sessions == 1 for d in open_devices.all), "open sockets stayed open"
