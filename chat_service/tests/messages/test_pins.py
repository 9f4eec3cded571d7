"""Pinned messages: any member pins and unpins, over REST and the socket; every member
hears it once and chat.events records it; a repeat changes nothing and tells nobody;
deleting a message unpins it; the cap and refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from chat_service.messages import pins
from tests.helpers import Api, Person, connect
from tests.test_outbox import outbox_of


def pin_path(chat_id: str, message_id: str) -> str:
    return f"/api/v1/chats/{chat_id}/messages/{message_id}/pin"


async def pinned_ids(api: Api, person: Person, chat_id: str) -> list[str]:
    response = await api.call(person, "GET", f"/api/v1/chats/{chat_id}/pins")
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["items"]]


async def pin_events(app: FastAPI, chat_id: str) -> list[str]:
    return [e["type"] for e in await outbox_of(app, chat_id) if "pinned" in e["type"]]


async def chat_with(api: Api, alice: Person, bob: Person, count: int) -> tuple[str, list[Any]]:
    chat = await api.create_chat(alice, bob)
    sent = [(await api.send(alice, chat["id"], f"m{n}")).json() for n in range(count)]
    return chat["id"], sent


class TestPins:
    async def test_members_pin_and_unpin_and_everyone_hears_it_once(
        self, api: Api, app: FastAPI, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat_id, (first, second) = await chat_with(api, alice, bob, 2)
        async with connect(chat_url, "/ws", alice) as watcher:
            pinned = await api.call(bob, "PUT", pin_path(chat_id, first["id"]))
            assert pinned.status_code == 200
            assert pinned.json()["pinned_by"] == str(bob.id)
            assert pinned.json()["pinned_at"] is not None
            event = await watcher.event("message_pinned")
            assert event["data"] == {"message_id": first["id"], "seq": 1, "user_id": str(bob.id)}
            again = await api.call(alice, "PUT", pin_path(chat_id, first["id"]))
            assert again.json()["pinned_by"] == str(bob.id)  # unchanged
            await api.call(alice, "PUT", pin_path(chat_id, second["id"]))
            assert await pinned_ids(api, bob, chat_id) == [second["id"], first["id"]]
            history = (await api.messages(bob, chat_id))["items"]
            assert [m["pinned_by"] for m in history] == [str(bob.id), str(alice.id)]

            unpinned = await api.call(alice, "DELETE", pin_path(chat_id, first["id"]))
            assert (unpinned.json()["pinned_at"], unpinned.json()["pinned_by"]) == (None, None)
            assert (await watcher.event("message_unpinned"))["data"]["user_id"] == str(alice.id)
            await api.call(alice, "DELETE", pin_path(chat_id, first["id"]))  # not pinned
        assert await pinned_ids(api, alice, chat_id) == [second["id"]]
        assert await pin_events(app, chat_id) == [
            "chat.message_pinned",
            "chat.message_pinned",
            "chat.message_unpinned",
        ]

    async def test_over_the_socket(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat_id, (message,) = await chat_with(api, alice, bob, 1)
        async with connect(chat_url, "/ws", bob) as ws:
            reply = await ws.request("pin_message", chat_id=chat_id, message_id=message["id"])
            assert reply["message"]["pinned_by"] == str(bob.id)
            listed = await ws.request("get_pins", chat_id=chat_id)
            assert [m["id"] for m in listed["items"]] == [message["id"]]
            reply = await ws.request("unpin_message", chat_id=chat_id, message_id=message["id"])
            assert reply["message"]["pinned_at"] is None

    async def test_deleting_a_message_unpins_it(self, api: Api, alice: Person, bob: Person) -> None:
        chat_id, (message,) = await chat_with(api, alice, bob, 1)
        await api.call(bob, "PUT", pin_path(chat_id, message["id"]))
        deleted = await api.call(
            alice, "DELETE", f"/api/v1/chats/{chat_id}/messages/{message['id']}"
        )
        assert deleted.status_code == 204
        assert await pinned_ids(api, bob, chat_id) == []
        refused = await api.call(bob, "PUT", pin_path(chat_id, message["id"]))
        assert (refused.status_code, refused.json()["error"]) == (409, "MessageDeleted")

    async def test_the_cap_and_refusals_change_nothing(
        self,
        api: Api,
        app: FastAPI,
        alice: Person,
        bob: Person,
        eve: Person,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(pins, "PINS_MAX", 2)
        chat_id, sent = await chat_with(api, alice, bob, 3)
        for message in sent[:2]:
            assert (
                await api.call(alice, "PUT", pin_path(chat_id, message["id"]))
            ).status_code == 200
        full = await api.call(bob, "PUT", pin_path(chat_id, sent[2]["id"]))
        assert (full.status_code, full.json()["error"]) == (409, "TooManyPins")
        outsider = await api.call(eve, "PUT", pin_path(chat_id, sent[2]["id"]))
        assert (outsider.status_code, outsider.json()["error"]) == (404, "ChatNotFound")
        assert (await api.call(eve, "GET", f"/api/v1/chats/{chat_id}/pins")).status_code == 404
        other_chat, _ = await chat_with(api, alice, bob, 0)
        elsewhere = await api.call(alice, "PUT", pin_path(other_chat, sent[2]["id"]))
        assert (elsewhere.status_code, elsewhere.json()["error"]) == (404, "MessageNotFound")
        assert sorted(await pinned_ids(api, alice, chat_id)) == sorted(m["id"] for m in sent[:2])
        assert len(await pin_events(app, chat_id)) == 2
