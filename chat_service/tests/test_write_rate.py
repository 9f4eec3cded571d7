"""REST writes are limited per user in a window, shared between instances through Redis:
one too many gets 429 with Retry-After and changes nothing; reads and other users go on."""

from __future__ import annotations

from uuid import uuid4

import httpx

from chat_service.main import create_app
from shared.testing.proxy import tcp_proxy
from shared.testing.server import serve
from tests.attachments.test_attachments import PNG, upload
from tests.conftest import MakeSettings
from tests.helpers import Api, Person

WINDOW = 60


async def test_one_write_too_many_is_refused_and_changes_nothing(
    make_settings: MakeSettings, alice: Person, bob: Person
) -> None:
    settings = make_settings(rest_writes_per_window=3, rest_write_window_seconds=WINDOW)
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        api = Api(client, base)
        chat = await api.create_chat(alice, bob)
        for text in ("one", "two"):
            assert (await api.send(alice, chat["id"], text)).status_code == 201
        refused = await api.send(alice, chat["id"], "three")
        assert refused.status_code == 429
        assert refused.json()["error"] == "TooManyRequests"
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW
        history = await api.messages(alice, chat["id"])
        assert [m["text"] for m in history["items"]] == ["one", "two"]
        assert (await api.send(bob, chat["id"], "bob goes on")).status_code == 201


async def test_instances_share_the_count_through_redis(
    make_settings: MakeSettings, redis_url: str, alice: Person, bob: Person
) -> None:
    settings = make_settings(
        redis_url=redis_url,
        redis_channel_prefix=f"test:chat:{uuid4().hex}:",
        rest_writes_per_window=2,
        rest_write_window_seconds=WINDOW,
    )
    async with (
        serve(create_app(settings)) as first,
        serve(create_app(settings)) as second,
        httpx.AsyncClient(base_url=first) as a,
        httpx.AsyncClient(base_url=second) as b,
    ):
        chat = await Api(a, first).create_chat(alice, bob)
        assert (await Api(b, second).send(alice, chat["id"], "one")).status_code == 201
        refused = await Api(a, first).send(alice, chat["id"], "two")
        assert refused.status_code == 429


async def test_writes_go_on_while_redis_is_down(
    make_settings: MakeSettings, redis_url: str, alice: Person, bob: Person
) -> None:
    target = redis_url.removeprefix("redis://").split("/")[0]
    async with tcp_proxy(target) as proxy:
        settings = make_settings(
            redis_url=f"redis://{proxy.address}/0",
            redis_channel_prefix=f"test:chat:{uuid4().hex}:",
            rest_writes_per_window=1,
            rest_write_window_seconds=WINDOW,
        )
        async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
            api = Api(client, base)
            chat = await api.create_chat(alice, bob)
            assert (await api.send(alice, chat["id"], "counted")).status_code == 429
            proxy.cut()
            assert (await api.send(alice, chat["id"], "uncounted")).status_code == 201


async def test_the_days_upload_bytes_are_capped(
    make_settings: MakeSettings, alice: Person, bob: Person
) -> None:
    data = PNG * 20  # about 2 KiB: two fit in the day's 5 KiB, a third does not
    settings = make_settings(attachment_bytes_per_day=5 * 1024)
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        api = Api(client, base)
        chat = await api.create_chat(alice, bob)
        for _ in range(2):
            assert (await upload(api, alice, chat["id"], data)).status_code == 201
        refused = await upload(api, alice, chat["id"], data)
        assert (refused.status_code, refused.json()["error"]) == (429, "TooManyRequests")
        assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600
        assert (await upload(api, bob, chat["id"], data)).status_code == 201
