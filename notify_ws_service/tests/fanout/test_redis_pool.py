"""The gateway's Redis pool is bounded and waits: a burst of handshakes larger than the
pool queues for connections instead of being refused with 1013."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from uuid import uuid4

from notify_ws_service.ingest.records import NewNotification
from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import connect, receive_json, serve_gateway

USERS = 3
SOCKETS_PER_USER = 10


class TestReconnectStorm:
    async def test_more_handshakes_than_connections_all_open(
        self, auth_service_url: str, redis_url: str, make_settings: SettingsFactory
    ) -> None:
        users = [await register_and_login(auth_service_url) for _ in range(USERS)]
        # Pub/sub holds one of the three for good.
        settings = make_settings(redis_url=redis_url, redis_max_connections=3)
        async with (
            serve_gateway(settings, wait_consuming=False) as gateway,
            AsyncExitStack() as stack,
        ):
            sockets = await asyncio.gather(
                *(
                    stack.enter_async_context(connect(gateway.ws_url(user.access_token, v="2")))
                    for user in users
                    for _ in range(SOCKETS_PER_USER)
                )
            )
            sent = [NewNotification(uuid4(), user.id, "t", str(user.id)) for user in users]
            await gateway.gateway.ingestor.ingest(sent)
            got = await asyncio.gather(*(receive_json(ws) for ws in sockets))
        expected = [str(user.id) for user in users for _ in range(SOCKETS_PER_USER)]
        assert [frame["body"] for frame in got] == expected
