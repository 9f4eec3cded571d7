"""The embedded development setup (`make run`): the same flows on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from chat_service.main import create_app
from chat_service.schema import upgrade
from shared.testing.server import serve
from tests.attachments.test_attachments import PNG, uploaded
from tests.conftest import MakeSettings
from tests.helpers import Api, Person, connect


async def test_chat_flow_on_sqlite(
    make_settings: MakeSettings, tmp_path: Path, alice: Person, bob: Person, carol: Person
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    await asyncio.to_thread(upgrade, url)
    app = create_app(make_settings(database_url=url))
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        api = Api(client, base)
        chat = await api.create_chat(alice, bob, name="dev")
        fetched = (await api.call(alice, "GET", f"/api/v1/chats/{chat['id']}")).json()
        assert fetched["created_at"].endswith("Z")  # UTC, though SQLite stores it naive
        async with connect(base, "/ws", bob) as ws:
            first = await api.send(alice, chat["id"], "hi", client_message_id="k")
            again = await api.send(alice, chat["id"], "hi", client_message_id="k")
            assert (first.status_code, again.status_code) == (201, 200)
            assert (await ws.event("message_created"))["data"]["seq"] == 1
            reply = await ws.request("send_message", chat_id=chat["id"], text="yo")
            assert reply["message"]["seq"] == 2
        added = await api.call(
            alice, "POST", f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [str(carol.id)]}
        )
        assert added.json()["type"] == "group"
        listing = (await api.call(carol, "GET", "/api/v1/chats", params={"q": "DE"})).json()
        assert listing["items"][0]["unread_count"] == 0
        assert listing["items"][0]["last_message"]["text"] == "yo"
        await api.call(alice, "POST", f"/api/v1/chats/{chat['id']}/read", json={"seq": 2})
        await api.call(carol, "POST", f"/api/v1/chats/{chat['id']}/read", json={"seq": 2})
        assert all(m["is_read"] for m in (await api.messages(alice, chat["id"]))["items"])
        muted = await api.call(carol, "PUT", f"/api/v1/chats/{chat['id']}/mute", json={})
        assert muted.json()["muted"] is True
        assert (await api.send(alice, chat["id"], "Привет, muted")).status_code == 201
        found = await api.messages(carol, chat["id"], q="YO")
        assert [m["text"] for m in found["items"]] == ["yo"]
        found = await api.messages(carol, chat["id"], q="ПРИВЕТ")  # any script's case
        assert [m["text"] for m in found["items"]] == ["Привет, muted"]

        file = await uploaded(api, alice, chat["id"])
        sent = await api.call(
            alice, "POST", f"/api/v1/chats/{chat['id']}/messages", json={"attachment_ids": [file]}
        )
        assert [a["id"] for a in sent.json()["attachments"]] == [file]
        reaction = f"/api/v1/chats/{chat['id']}/messages/{sent.json()['id']}/reactions/ok"
        for _ in range(2):
            reacted = await api.call(carol, "PUT", reaction)
        assert reacted.json()["reactions"][0]["user_ids"] == [str(carol.id)]
        got = await api.client.get(f"/api/v1/attachments/{file}", headers=carol.headers)
        assert got.content == PNG
        assert (await api.call(alice, "DELETE", f"/api/v1/chats/{chat['id']}")).status_code == 204
        assert (await api.call(alice, "GET", f"/api/v1/attachments/{file}")).status_code == 404
