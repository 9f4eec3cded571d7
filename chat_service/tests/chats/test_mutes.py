"""A member mutes a chat: their notifications stop (each message's event names who has it
muted, for the gateway), for a while or until they unmute it; their other sockets hear
of it, nobody else does; refusals change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI

from tests.helpers import Api, Person, connect
from tests.test_outbox import outbox_of


def mute_path(chat: dict[str, Any]) -> str:
    return f"/api/v1/chats/{chat['id']}/mute"


async def muted_ids_of_last_message(api: Api, app: FastAPI, sender: Person, chat_id: str) -> Any:
    assert (await api.send(sender, chat_id, "ping")).status_code == 201
    created = [e for e in await outbox_of(app, chat_id) if e["type"] == "chat.message_created"]
    return created[-1]["data"]["muted_ids"]


async def listed(api: Api, person: Person, chat: dict[str, Any]) -> dict[str, Any]:
    items = (await api.call(person, "GET", "/api/v1/chats", params={"limit": 200})).json()["items"]
    [item] = [i for i in items if i["id"] == chat["id"]]
    return {"muted": item["muted"], "muted_until": item["muted_until"]}


class TestMute:
    async def test_mute_for_a_while_then_unmute(
        self, api: Api, app: FastAPI, chat_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol)
        until = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
        async with connect(chat_url, "/ws", alice) as mine, connect(chat_url, "/ws", bob) as other:
            response = await api.call(
                alice, "PUT", mute_path(chat), json={"until": until.isoformat()}
            )
            assert response.status_code == 200
            expected = {"muted": True, "muted_until": until.isoformat().replace("+00:00", "Z")}
            assert response.json() == {"chat_id": chat["id"], **expected}
            assert (await mine.event("chat_muted"))["data"] == expected
            assert await listed(api, alice, chat) == expected
            assert await listed(api, bob, chat) == {"muted": False, "muted_until": None}

            assert await muted_ids_of_last_message(api, app, bob, chat["id"]) == [str(alice.id)]

            unmuted = await api.call(alice, "DELETE", mute_path(chat))
            assert unmuted.json() == {"chat_id": chat["id"], "muted": False, "muted_until": None}
            assert (await mine.event("chat_muted"))["data"]["muted"] is False
            assert await muted_ids_of_last_message(api, app, bob, chat["id"]) == []
            # Bob heard the messages, not alice's mutes.
            await other.request("ping")
            assert not [f for f in other.skipped if f.get("event") == "chat_muted"]

    async def test_mute_until_unmuted_and_a_mute_that_ran_out(
        self, api: Api, app: FastAPI, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        forever = await api.call(alice, "PUT", mute_path(chat), json={})
        assert forever.json() == {"chat_id": chat["id"], "muted": True, "muted_until": None}
        assert await listed(api, alice, chat) == {"muted": True, "muted_until": None}
        assert await muted_ids_of_last_message(api, app, bob, chat["id"]) == [str(alice.id)]

        soon = datetime.now(UTC) + timedelta(seconds=1)
        await api.call(alice, "PUT", mute_path(chat), json={"until": soon.isoformat()})
        await asyncio.sleep(1.5)
        assert await listed(api, alice, chat) == {"muted": False, "muted_until": None}
        assert await muted_ids_of_last_message(api, app, bob, chat["id"]) == []

    async def test_an_offset_is_kept_and_the_far_future_is_for_good(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
        local = later.astimezone(timezone(timedelta(hours=2))).isoformat()
        muted = await api.call(alice, "PUT", mute_path(chat), json={"until": local})
        assert muted.json()["muted_until"] == later.isoformat().replace("+00:00", "Z")
        assert (await listed(api, alice, chat))["muted_until"] == muted.json()["muted_until"]
        far = await api.call(
            alice, "PUT", mute_path(chat), json={"until": "9999-12-31T23:59:59-23:59"}
        )
        assert far.json() == {"chat_id": chat["id"], "muted": True, "muted_until": None}

    async def test_over_the_socket(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, "/ws", bob) as ws:
            muted = await ws.request("mute_chat", chat_id=chat["id"])
            assert (muted["type"], muted["muted"], muted["muted_until"]) == ("result", True, None)
            unmuted = await ws.request("unmute_chat", chat_id=chat["id"])
            assert (unmuted["type"], unmuted["muted"]) == ("result", False)
            past = await ws.request("mute_chat", chat_id=chat["id"], until="2000-01-01T00:00:00Z")
            assert (past["type"], past["muted"], past["muted_until"]) == ("result", False, None)
            wrong = await ws.request("mute_chat", chat_id=chat["id"], until="soon")
            assert (wrong["type"], wrong["error"]) == ("error", "ValidationError")
        assert await listed(api, bob, chat) == {"muted": False, "muted_until": None}

    async def test_refusals_change_nothing(
        self, api: Api, alice: Person, bob: Person, eve: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        cases = [
            (eve, {}, 404, "ChatNotFound"),
            (alice, {"until": "tomorrow"}, 422, "ValidationError"),
            (alice, {"until": 0}, 422, "ValidationError"),
            (alice, {"until": 5, "x": 1}, 422, "ValidationError"),
        ]
        for person, body, status, error in cases:
            response = await api.call(person, "PUT", mute_path(chat), json=body)
            assert (response.status_code, response.json()["error"]) == (status, error), body
        outsider = await api.call(eve, "DELETE", mute_path(chat))
        assert outsider.status_code == 404
        assert await listed(api, alice, chat) == {"muted": False, "muted_until": None}
