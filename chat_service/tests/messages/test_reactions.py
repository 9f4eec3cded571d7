"""Reactions: members add and take back emoji on messages, over REST and the socket;
twice changes nothing and tells nobody; every member hears the change; history shows
them; refusals change nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Api, Person, connect
from tests.test_outbox import outbox_of


def path(chat_id: str, message_id: str, emoji: str) -> str:
    return f"/api/v1/chats/{chat_id}/messages/{message_id}/reactions/{quote(emoji)}"


async def react(
    api: Api, person: Person, chat_id: str, message_id: str, emoji: str, *, add: bool = True
) -> httpx.Response:
    return await api.call(person, "PUT" if add else "DELETE", path(chat_id, message_id, emoji))


async def chat_with_message(api: Api, alice: Person, bob: Person) -> tuple[str, dict[str, Any]]:
    chat = await api.create_chat(alice, bob)
    sent = await api.send(alice, chat["id"], "react to me")
    return chat["id"], sent.json()


class TestReactions:
    async def test_members_react_and_everyone_hears_it(
        self, api: Api, app: FastAPI, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat_id, message = await chat_with_message(api, alice, bob)
        async with connect(chat_url, "/ws", alice) as watcher, connect(chat_url, "/ws", bob) as ws:
            reply = await ws.request("react", chat_id=chat_id, message_id=message["id"], emoji="👍")
            assert reply["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [str(bob.id)]}]
            event = await watcher.event("reaction_added")
            assert event["data"] == {
                "message_id": message["id"],
                "seq": 1,
                "user_id": str(bob.id),
                "emoji": "👍",
                "reactions": reply["reactions"],
            }
            again = await react(api, alice, chat_id, message["id"], "👍")
            assert again.status_code == 200
            assert again.json()["reactions"] == [
                {"emoji": "👍", "count": 2, "user_ids": [str(bob.id), str(alice.id)]}
            ]
            assert (await react(api, alice, chat_id, message["id"], ":tada:")).status_code == 200
            taken = await ws.request(
                "unreact", chat_id=chat_id, message_id=message["id"], emoji="👍"
            )
            assert [r["count"] for r in taken["reactions"]] == [1, 1]
            assert (await watcher.event("reaction_removed"))["data"]["user_id"] == str(bob.id)

        [item] = (await api.messages(bob, chat_id))["items"]
        assert item["reactions"] == [
            {"emoji": "👍", "count": 1, "user_ids": [str(alice.id)]},
            {"emoji": ":tada:", "count": 1, "user_ids": [str(alice.id)]},
        ]
        events = [e for e in await outbox_of(app, chat_id) if e["type"].startswith("chat.reaction")]
        assert [e["type"] for e in events] == [
            "chat.reaction_added",
            "chat.reaction_added",
            "chat.reaction_added",
            "chat.reaction_removed",
        ]
        assert events[0]["data"]["member_ids"] == [str(alice.id), str(bob.id)]

    async def test_twice_changes_nothing_and_tells_nobody(
        self, api: Api, app: FastAPI, alice: Person, bob: Person
    ) -> None:
        chat_id, message = await chat_with_message(api, alice, bob)
        for _ in range(2):
            assert (await react(api, bob, chat_id, message["id"], "❤️")).status_code == 200
        for _ in range(2):
            gone = await react(api, bob, chat_id, message["id"], "❤️", add=False)
            assert (gone.status_code, gone.json()["reactions"]) == (200, [])
        kinds = [e["type"] for e in await outbox_of(app, chat_id) if "reaction" in e["type"]]
        assert kinds == ["chat.reaction_added", "chat.reaction_removed"]

    async def test_an_edit_keeps_them_and_a_delete_drops_them(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat_id, message = await chat_with_message(api, alice, bob)
        await react(api, bob, chat_id, message["id"], "👍")
        edited = await api.call(
            alice, "PATCH", f"/api/v1/chats/{chat_id}/messages/{message['id']}", json={"text": "x"}
        )
        assert [r["emoji"] for r in edited.json()["reactions"]] == ["👍"]
        await api.call(alice, "DELETE", f"/api/v1/chats/{chat_id}/messages/{message['id']}")
        [item] = (await api.messages(bob, chat_id))["items"]
        assert item["reactions"] == []
        deleted = await react(api, bob, chat_id, message["id"], "👍")
        assert (deleted.status_code, deleted.json()["error"]) == (409, "MessageDeleted")


class TestRefusals:
    async def test_outsiders_unknown_messages_and_bad_keys_change_nothing(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat_id, message = await chat_with_message(api, alice, bob)
        _, other = await chat_with_message(api, alice, carol)
        assert (await react(api, carol, chat_id, message["id"], "👍")).status_code == 404
        wrong_chat = await react(api, alice, chat_id, other["id"], "👍")
        assert (wrong_chat.status_code, wrong_chat.json()["error"]) == (404, "MessageNotFound")
        for key in ("a b", "x" * 33, "\t"):
            assert (await react(api, alice, chat_id, message["id"], key)).status_code == 422, key
        async with connect(api.base_url, "/ws", alice) as ws:
            bad = await ws.request("react", chat_id=chat_id, message_id=message["id"], emoji="")
            assert bad["error"] == "ValidationError"
        [item] = (await api.messages(alice, chat_id))["items"]
        assert item["reactions"] == []

    async def test_a_member_may_put_20_on_one_message(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat_id, message = await chat_with_message(api, alice, bob)
        for n in range(20):
            assert (await react(api, bob, chat_id, message["id"], f"k{n}")).status_code == 200
        refused = await react(api, bob, chat_id, message["id"], "k20")
        assert (refused.status_code, refused.json()["error"]) == (409, "TooManyReactions")
        assert (await react(api, alice, chat_id, message["id"], "k20")).status_code == 200
        assert (await react(api, bob, chat_id, message["id"], "k0")).status_code == 200  # had it


@pytest.mark.parametrize("emoji", ["👍🏽", "🏳️‍🌈", "+1"])
async def test_emoji_of_several_code_points_are_one_key(
    api: Api, alice: Person, bob: Person, emoji: str
) -> None:
    chat_id, message = await chat_with_message(api, alice, bob)
    response = await react(api, bob, chat_id, message["id"], emoji)
    assert response.json()["reactions"][0]["emoji"] == emoji


async def test_keys_are_one_spelling_and_nothing_that_hides_or_splits(
    api: Api, chat_url: str, alice: Person, bob: Person
) -> None:
    chat_id, message = await chat_with_message(api, alice, bob)
    composed, decomposed = "\u00e9", "e\u0301"
    await react(api, alice, chat_id, message["id"], composed)
    again = await react(api, bob, chat_id, message["id"], decomposed)
    assert again.json()["reactions"] == [
        {"emoji": composed, "count": 2, "user_ids": [str(alice.id), str(bob.id)]}
    ]
    async with connect(chat_url, "/ws", alice) as ws:
        for key in ("a/b", "\u202eevil", "x\u2066y", "\u0085"):
            refused = await ws.request(
                "react", chat_id=chat_id, message_id=message["id"], emoji=key
            )
            assert refused["error"] == "ValidationError", key
