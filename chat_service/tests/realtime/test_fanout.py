"""Delivery across instances (Redis) and without holding database connections."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from uuid import uuid4

import httpx
from redis.asyncio import Redis

from chat_service.main import create_app
from chat_service.state import ChatState
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import Api, Person, connect


class TestRedisFanout:
    async def test_every_socket_of_a_user_hears_events_from_any_instance(
        self, make_settings: MakeSettings, redis_url: str, alice: Person, bob: Person
    ) -> None:
        prefix = f"chat-test-{uuid4().hex[:8]}:"
        settings = make_settings(redis_url=redis_url, redis_channel_prefix=prefix)
        first, second = create_app(settings), create_app(settings)
        async with (
            serve(first) as url_a,
            serve(second) as url_b,
            httpx.AsyncClient(base_url=url_b) as client,
        ):
            api_b = Api(client, url_b)
            chat = await api_b.create_chat(alice, bob)
            async with (
                connect(url_a, "/ws", bob) as on_a,
                connect(url_b, "/ws", bob) as on_b,
                connect(url_a, f"/ws/chat/{chat['id']}", bob) as legacy_on_a,
            ):
                sent = await api_b.send(alice, chat["id"], "across instances")
                for ws in (on_a, on_b, legacy_on_a):
                    event = await ws.event("message_created")
                    assert event["data"]["id"] == sent.json()["id"]
                # The socket on instance A acts; B's socket hears it.
                await on_a.request("typing", chat_id=chat["id"])
                async with connect(url_b, "/ws", alice) as alice_on_b:
                    await on_a.request("typing", chat_id=chat["id"])
                    typing = await alice_on_b.event("typing")
                    assert typing["data"]["user_id"] == str(bob.id)

    async def test_an_event_is_published_once_whatever_its_audience(
        self, make_settings: MakeSettings, redis_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        prefix = f"chat-test-{uuid4().hex[:8]}:"
        settings = make_settings(redis_url=redis_url, redis_channel_prefix=prefix)
        redis = Redis.from_url(redis_url)
        listener = redis.pubsub()
        await listener.subscribe(f"{prefix}events")
        try:
            async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as c:
                api = Api(c, url)
                chat = await api.create_chat(alice, bob, carol)
                async with connect(url, "/ws", bob) as ws:
                    await api.send(alice, chat["id"], "to three")
                    await ws.request("typing", chat_id=chat["id"])  # marks the end
                    events: list[str] = []
                    async with asyncio.timeout(10):
                        while "typing" not in events:
                            message = await listener.get_message(timeout=1.0)
                            if message is not None and message["type"] == "message":
                                head = message["data"].split(b"\n", 1)[0]
                                events.append(json.loads(head)["event"])
            assert events.count("message_created") == 1
        finally:
            await listener.aclose()  # type: ignore[no-untyped-call]
            await redis.aclose()


class TestShutdown:
    async def test_open_sockets_are_told_the_server_restarts(
        self, make_settings: MakeSettings, alice: Person
    ) -> None:
        server = serve(create_app(make_settings()))
        url = await server.__aenter__()
        stopped = False
        try:
            async with connect(url, "/ws", alice) as ws:
                assert (await ws.request("ping"))["pong"] is True
                stopping = asyncio.create_task(server.__aexit__(None, None, None))
                stopped = True
                code, _ = await ws.closed()
                await stopping
        finally:
            if not stopped:
                await server.__aexit__(None, None, None)
        assert code == 1012


class TestSocketsHoldNoConnections:
    async def test_many_open_sockets_leave_the_pool_free(
        self, make_settings: MakeSettings, alice: Person, bob: Person
    ) -> None:
        # Two pooled connections in all; each socket pinning one would stall at the third.
        settings = make_settings(database_pool_size=1, ws_max_sockets_per_user=500)
        app = create_app(settings)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            api = Api(client, url)
            chat = await api.create_chat(alice, bob)
            async with AsyncExitStack() as stack:
                sockets = []
                for n in range(500):
                    path = f"/ws/chat/{chat['id']}" if n % 2 else "/ws"
                    sockets.append(
                        await stack.enter_async_context(connect(url, path, alice if n % 3 else bob))
                    )
                state: ChatState = app.state.chat
                assert state.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
                async with asyncio.timeout(5):
                    listed = await api.call(alice, "GET", "/api/v1/chats")
                    sent = await api.send(alice, chat["id"], "still fast")
                    async with connect(url, "/ws", bob) as late:
                        reply = await late.request("get_messages", chat_id=chat["id"])
                assert listed.status_code == 200
                assert sent.status_code == 201
                assert [m["text"] for m in reply["items"]] == ["still fast"]
                for ws in sockets:
                    await ws.event("message_created")
