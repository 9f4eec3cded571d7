"""Presence: online is a chat socket open on any instance; sockets that watch hear their
people come and go, once per change; instances that die let their users go offline."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import httpx
from redis.asyncio import Redis

from chat_service.main import create_app
from chat_service.realtime.presence import RedisPresence
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import Api, Person, Socket, connect


def presence_of(frame: dict[str, object]) -> bool:
    return frame.get("event") == "presence"


async def quiet(ws: Socket) -> list[dict[str, object]]:
    """The presence events that came before a ping's reply, a moment after the change
    (a socket's close is handled on the server after the client has seen it)."""
    ws.skipped.clear()
    await asyncio.sleep(0.3)
    await ws.request("ping")
    return [f for f in ws.skipped if presence_of(f)]


class TestOneInstance:
    async def test_watchers_hear_their_people_come_and_go_once(
        self, api: Api, chat_url: str, auth_people: list[Person], carol: Person
    ) -> None:
        ann, ben = auth_people
        chat = await api.create_chat(ann, ben)
        async with connect(chat_url, "/ws", ann) as watcher:
            assert await watcher.request("watch_presence") == {
                "type": "result",
                "action": "watch_presence",
                "request_id": "r1",
                "watching": True,
                "online": [],
            }
            async with connect(chat_url, "/ws", ben):
                came = await watcher.event("presence")
                assert (came["data"], "chat_id" in came) == (
                    {"user_id": str(ben.id), "online": True},
                    False,
                )
                online = await api.call(ann, "GET", f"/api/v1/chats/{chat['id']}/presence")
                assert online.json() == {
                    "chat_id": chat["id"],
                    "online": [str(ann.id), str(ben.id)],
                }
                async with connect(chat_url, f"/ws/chat/{chat['id']}", ben):
                    pass  # a second socket, opened and closed: no change
                assert await quiet(watcher) == []
            went = await watcher.event("presence")
            assert went["data"] == {"user_id": str(ben.id), "online": False}
            async with connect(chat_url, "/ws", carol):  # shares no chat with ann
                assert await quiet(watcher) == []
            async with connect(chat_url, "/create_chat", ben):  # hears nothing: not online
                assert await quiet(watcher) == []
            assert (await watcher.request("watch_presence", watch=False))["watching"] is False
            async with connect(chat_url, "/ws", ben):
                assert await quiet(watcher) == []
        offline = await api.call(ben, "GET", f"/api/v1/chats/{chat['id']}/presence")
        assert offline.json()["online"] == []
        outsider = await api.call(carol, "GET", f"/api/v1/chats/{chat['id']}/presence")
        assert outsider.status_code == 404


class TestInstances:
    async def test_presence_holds_across_instances(
        self, make_settings: MakeSettings, redis_url: str, auth_people: list[Person]
    ) -> None:
        ann, ben = auth_people
        settings = make_settings(redis_url=redis_url, redis_channel_prefix=f"p-{uuid4().hex[:8]}:")
        first, second = create_app(settings), create_app(settings)
        async with (
            serve(first) as url_a,
            serve(second) as url_b,
            httpx.AsyncClient(base_url=url_a) as client,
        ):
            api_a = Api(client, url_a)
            chat = await api_a.create_chat(ann, ben)
            async with connect(url_a, "/ws", ann) as watcher:
                await watcher.request("watch_presence")
                async with connect(url_b, "/ws", ben) as on_b:
                    assert (await watcher.event("presence"))["data"]["online"] is True
                    listed = await api_a.call(ann, "GET", f"/api/v1/chats/{chat['id']}/presence")
                    assert listed.json()["online"] == [str(ann.id), str(ben.id)]
                    async with connect(url_a, "/ws", ben):
                        pass  # ben was online on B all along
                    assert await quiet(watcher) == []
                    await on_b.request("ping")
                assert (await watcher.event("presence"))["data"]["online"] is False

    async def test_a_dead_instances_users_go_offline_within_the_ttl(self, redis_url: str) -> None:
        redis = Redis.from_url(redis_url)
        now = [1_000_000.0]
        prefix = f"p-{uuid4().hex[:8]}:"
        dead = RedisPresence(redis, prefix=prefix, ttl=30, clock=lambda: now[0])
        alive = RedisPresence(redis, prefix=prefix, ttl=30, clock=lambda: now[0])
        user = uuid4()
        try:
            assert await dead.connected(user) is True
            assert await alive.online([user]) == {user}
            assert await alive.connected(user) is False  # online already, through the other
            assert await alive.disconnected(user) is False
            now[0] += 20
            assert await alive.online([user]) == {user}
            now[0] += 11  # the dead instance renewed nothing
            assert await alive.online([user]) == set()
            assert await alive.connected(user) is True
            now[0] += 25
            await alive.renew()
            now[0] += 25
            assert await alive.online([user]) == {user}
        finally:
            await alive.stop()
            await redis.aclose()

    async def test_a_dead_instance_is_swept_once_and_its_lone_users_told(
        self, redis_url: str
    ) -> None:
        redis = Redis.from_url(redis_url)
        now = [1_000_000.0]
        prefix = f"p-{uuid4().hex[:8]}:"
        told: list[list[UUID]] = []

        async def listener(user_ids: list[UUID]) -> None:
            told.append(sorted(user_ids, key=str))

        def instance() -> RedisPresence:
            presence = RedisPresence(redis, prefix=prefix, ttl=30, clock=lambda: now[0])
            presence.on_offline(listener)
            return presence

        dead, first, second = instance(), instance(), instance()
        alone, also_here, back_later, left = uuid4(), uuid4(), uuid4(), uuid4()
        try:
            for user in (alone, also_here, back_later, left):
                await dead.connected(user)
            await dead.disconnected(left)
            await dead.renew()  # its heartbeat; then it dies
            await first.connected(also_here)
            now[0] += 29
            await first.renew()  # its own marks go on; the other one is not dead yet
            assert told == []
            now[0] += 2
            await second.connected(back_later)  # back on another instance after the TTL
            swept = await asyncio.gather(first.sweep(), second.sweep())
            assert sorted(map(len, swept)) == [0, 1]  # one sweeper claims it
            async with asyncio.timeout(5):  # told in a task of its own
                while not told:
                    await asyncio.sleep(0.01)
            assert told == [[alone]]
            assert await first.online([alone, also_here, back_later, left]) == {
                also_here,
                back_later,
            }
            assert await redis.exists(f"{prefix}presence:instance:{dead._instance}") == 0
            assert await first.sweep() == []
        finally:
            await first.stop()
            await second.stop()
            await redis.aclose()

    async def test_an_instance_swept_while_alive_marks_its_users_again(
        self, redis_url: str
    ) -> None:
        redis = Redis.from_url(redis_url)
        now = [1_000_000.0]
        prefix = f"p-{uuid4().hex[:8]}:"
        stalled = RedisPresence(redis, prefix=prefix, ttl=30, clock=lambda: now[0])
        sweeper = RedisPresence(redis, prefix=prefix, ttl=30, clock=lambda: now[0])
        user = uuid4()
        try:
            await stalled.renew()
            await stalled.connected(user)
            now[0] += 31  # it renewed nothing for longer than the TTL
            assert await sweeper.sweep() == [user]
            await stalled.renew()
            assert await sweeper.online([user]) == {user}
            now[0] += 31
            assert await sweeper.sweep() == [user]  # its marked set was rebuilt too
        finally:
            await stalled.stop()
            await sweeper.stop()
            await redis.aclose()

    async def test_watchers_hear_a_dead_instances_users_go(
        self, make_settings: MakeSettings, redis_url: str, auth_people: list[Person]
    ) -> None:
        ann, ben = auth_people
        prefix = f"p-{uuid4().hex[:8]}:"
        settings = make_settings(
            redis_url=redis_url, redis_channel_prefix=prefix, presence_ttl_seconds=1.5
        )
        redis = Redis.from_url(redis_url)
        dead = RedisPresence(redis, prefix=prefix, ttl=1.5)
        try:
            async with (
                serve(create_app(settings)) as url,
                httpx.AsyncClient(base_url=url) as client,
            ):
                await Api(client, url).create_chat(ann, ben)
                await dead.connected(ben.id)
                await dead.renew()  # ben's socket was on an instance that then died
                async with connect(url, "/ws", ann) as watcher:
                    listed = await watcher.request("watch_presence")
                    assert listed["online"] == [str(ben.id)]
                    went = await watcher.event("presence", timeout=10)
                    assert went["data"] == {"user_id": str(ben.id), "online": False}
        finally:
            await redis.aclose()
