"""A socket that never reads is dropped when its send buffer is full; the others keep
going."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from websockets.exceptions import ConnectionClosed

from shared.testing.auth_service import register_and_login
from shared.testing.server import tiny_receive_buffer
from tests.conftest import SettingsFactory
from tests.support import connect, notification, receive_json, serve_gateway

COUNT = 400
CHUNK = 16
BODY = "x" * 15_000


def dropped() -> float:
    return REGISTRY.get_sample_value("notify_dropped_total", {"reason": "slow"}) or 0.0


class TestSlowClient:
    async def test_a_client_that_stops_reading_is_dropped_and_never_slows_the_others(
        self,
        auth_service_url: str,
        make_settings: SettingsFactory,
        producer: AIOKafkaProducer,
    ) -> None:
        user = await register_and_login(auth_service_url)
        settings = make_settings(send_buffer_bytes=4 * CHUNK * len(BODY), close_timeout=0.5)
        before = dropped()
        topic, key = settings.notification_topic, str(user.id).encode()
        async with (
            serve_gateway(settings) as gateway,
            connect(gateway.ws_url(user.access_token)) as reader,
            # max_queue=1: the client library stops reading the TCP stream at once.
            connect(
                gateway.ws_url(user.access_token),
                max_queue=1,
                sock=tiny_receive_buffer(gateway.base_url),
            ) as stalled,
        ):
            titles = []
            for start in range(0, COUNT, CHUNK):
                for n in range(start, start + CHUNK):
                    await producer.send(topic, notification(user.id, str(n), BODY), key=key)
                await producer.flush()
                titles += [(await receive_json(reader))["title"] for _ in range(CHUNK)]
            assert titles == [str(n) for n in range(COUNT)]

            async with asyncio.timeout(20):
                while dropped() == before:
                    await asyncio.sleep(0.1)
            registry = gateway.gateway.registry
            assert [c.id for c in registry.connections()] != []
            assert all(c.buffered <= settings.send_buffer_bytes for c in registry.connections())
            assert len(list(registry.connections())) == 1

            received = 0
            try:
                async with asyncio.timeout(20):
                    while True:
                        await stalled.recv()
                        received += 1
            except ConnectionClosed:
                pass
            assert received < COUNT
