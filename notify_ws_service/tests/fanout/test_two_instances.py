"""Two gateway instances, one consumer group, Redis in between: each record is consumed
and stored once and reaches the user's sockets on both instances."""

from __future__ import annotations

import asyncio

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from shared.devbroker import free_port
from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import (
    close_code,
    connect,
    nothing_within,
    notification,
    receive_json,
    serve_gateway,
)


def deduplicated() -> float:
    return REGISTRY.get_sample_value("notify_deduplicated_total", {"where": "connection"}) or 0.0


class TestTwoInstances:
    async def test_every_notification_reaches_both_instances_sockets_once(
        self,
        auth_service_url: str,
        redis_url: str,
        make_settings: SettingsFactory,
        producer: AIOKafkaProducer,
    ) -> None:
        user = await register_and_login(auth_service_url)
        other = await register_and_login(auth_service_url)
        settings = make_settings(redis_url=redis_url)
        before = deduplicated()
        async with (
            serve_gateway(settings) as first,
            serve_gateway(settings) as second,
            connect(first.ws_url(user.access_token)) as on_first,
            connect(second.ws_url(user.access_token)) as on_second,
            connect(second.ws_url(other.access_token)) as stranger,
        ):
            # Unkeyed records spread over the partitions, so both instances consume some.
            sent = {f"n{n}" for n in range(12)}
            for body in sorted(sent):
                await producer.send_and_wait(
                    settings.notification_topic, notification(user.id, "t", body)
                )
            for ws in (on_first, on_second):
                got = {(await receive_json(ws))["body"] for _ in sent}
                assert got == sent
                assert await nothing_within(ws, 1.0)
            assert await nothing_within(stranger, 0.2)
            async with httpx.AsyncClient(base_url=first.base_url, headers=user.headers) as c:
                items = (await c.get("/api/v1/notify/notifications?limit=100")).json()["items"]
            assert sorted(i["body"] for i in items) == sorted(sent)
            # One group for the fleet: each record was consumed by exactly one instance.
            handled = [c.handled for g in (first, second) for c in g.gateway.consumers]
            assert sum(handled) == len(sent)
            # The consuming instance delivered to its own socket directly and skipped its
            # own copy from Redis: no socket was offered a notification twice.
            assert deduplicated() == before

    async def test_the_socket_cap_holds_across_instances(
        self, auth_service_url: str, redis_url: str, make_settings: SettingsFactory
    ) -> None:
        user = await register_and_login(auth_service_url)
        settings = make_settings(redis_url=redis_url, max_sockets_per_user=2)
        async with (
            serve_gateway(settings, wait_consuming=False) as first,
            serve_gateway(settings, wait_consuming=False) as second,
            connect(first.ws_url(user.access_token)),
            connect(second.ws_url(user.access_token)),
        ):
            async with connect(second.ws_url(user.access_token)) as third:
                assert (await close_code(third))[0] == 4429
            async with connect(first.ws_url(user.access_token)) as fourth:
                assert (await close_code(fourth))[0] == 4429
        # Closed sockets give their places back.
        async with (
            serve_gateway(settings, wait_consuming=False) as again,
            connect(again.ws_url(user.access_token)) as ws,
        ):
            await asyncio.sleep(0)
            assert await nothing_within(ws, 0.3)


class TestRedisDown:
    async def test_the_gateway_starts_unready_and_sockets_get_1013(
        self, auth_service_url: str, make_settings: SettingsFactory
    ) -> None:
        user = await register_and_login(auth_service_url)
        settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
        async with serve_gateway(settings, wait_consuming=False) as gateway:
            async with httpx.AsyncClient(base_url=gateway.base_url) as client:
                ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["redis"].startswith("error")
            async with connect(gateway.ws_url(user.access_token)) as ws:
                assert (await close_code(ws))[0] == 1013
