"""The per-user socket cap in Redis: leases, renewal in bulk, the cap kept."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from redis.asyncio import Redis

from notify_ws_service.fanout.presence import RedisPresence


def presence(redis: Redis, *, cap: int = 3, lease: float = 1.0) -> RedisPresence:
    return RedisPresence(redis, prefix=f"test-presence-{uuid4().hex}:", cap=cap, lease=lease)


class TestRedisPresence:
    async def test_the_cap_holds_and_a_known_socket_only_renews(self, redis: Redis) -> None:
        cap = presence(redis, cap=2)
        user = uuid4()
        assert await cap.acquire(user, "a")
        assert await cap.acquire(user, "b")
        assert not await cap.acquire(user, "c")
        assert await cap.acquire(user, "a")

    async def test_renewal_keeps_every_socket_and_unrenewed_leases_run_out(
        self, redis: Redis
    ) -> None:
        cap = presence(redis, cap=3, lease=1.0)
        kept, crashed = uuid4(), uuid4()
        for user in (kept, crashed):
            for socket in ("a", "b", "c"):
                assert await cap.acquire(user, socket)
        for _ in range(3):
            await asyncio.sleep(0.5)
            await cap.renew([(kept, "a"), (kept, "b"), (kept, "c")])
        assert not await cap.acquire(kept, "d"), "all three leases renewed"
        assert await cap.acquire(crashed, "d"), "the crashed instance's leases ran out"

    async def test_renewal_of_many_users_in_bulk_does_not_pass_the_cap(self, redis: Redis) -> None:
        cap = presence(redis, cap=2, lease=5.0)
        users = [uuid4() for _ in range(450)]
        await cap.renew([(user, socket) for user in users for socket in ("a", "b", "c")])
        for user in users[::50]:
            assert not await cap.acquire(user, "d")
            assert await cap.acquire(user, "a")
            assert not await cap.acquire(user, "c"), "the third was refused at renewal"

    async def test_a_user_with_more_sockets_than_one_call_renews_keeps_every_one(
        self, redis: Redis
    ) -> None:
        cap = presence(redis, cap=1200, lease=5.0)
        user = uuid4()
        await cap.renew([(user, f"s{n}") for n in range(1200)])
        assert await redis.zcard(cap._key(user)) == 1200
        assert not await cap.acquire(user, "one more")
        assert await cap.acquire(user, "s1199"), "the last one renewed is held"
