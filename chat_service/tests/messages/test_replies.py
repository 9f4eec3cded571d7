"""Replies: a message names the seq of the one it answers, in its chat; a seq the chat
does not have yet is refused and nothing is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Api, Person, connect
from tests.test_outbox import outbox_of


async def reply(api: Api, person: Person, chat_id: str, seq: Any, **body: Any) -> httpx.Response:
    return await api.call(
        person,
        "POST",
        f"/api/v1/chats/{chat_id}/messages",
        json={"text": "answer", "reply_to_seq": seq, **body},
    )


async def test_a_reply_names_the_message_it_answers_everywhere(
    api: Api, app: FastAPI, chat_url: str, alice: Person, bob: Person
) -> None:
    chat = await api.create_chat(alice, bob)
    await api.send(alice, chat["id"], "question")
    async with connect(chat_url, "/ws", alice) as watcher, connect(chat_url, "/ws", bob) as ws:
        answered = await ws.request("send_message", chat_id=chat["id"], text="yes", reply_to_seq=1)
        assert answered["message"]["reply_to_seq"] == 1
        assert (await watcher.event("message_created"))["data"]["reply_to_seq"] == 1
    by_rest = await reply(api, alice, chat["id"], 2)
    assert (by_rest.status_code, by_rest.json()["reply_to_seq"]) == (201, 2)
    items = (await api.messages(bob, chat["id"]))["items"]
    assert [m["reply_to_seq"] for m in items] == [None, 1, 2]
    created = [e for e in await outbox_of(app, chat["id"]) if e["type"] == "chat.message_created"]
    assert [e["data"]["reply_to_seq"] for e in created] == [None, 1, 2]


async def test_a_deleted_message_can_still_be_answered(
    api: Api, alice: Person, bob: Person
) -> None:
    chat = await api.create_chat(alice, bob)
    sent = (await api.send(alice, chat["id"], "oops")).json()
    await api.call(alice, "DELETE", f"/api/v1/chats/{chat['id']}/messages/{sent['id']}")
    assert (await reply(api, bob, chat["id"], 1)).status_code == 201


@pytest.mark.parametrize(
    ("seq", "status"), [(2, 404), (0, 422), (-1, 422), (True, 422), ("x", 422), (2**53, 422)]
)
async def test_a_seq_the_chat_does_not_have_is_refused(
    api: Api, alice: Person, bob: Person, seq: Any, status: int
) -> None:
    chat = await api.create_chat(alice, bob)
    await api.send(alice, chat["id"], "only one")
    response = await reply(api, bob, chat["id"], seq)
    assert response.status_code == status, response.text
    assert (await api.messages(bob, chat["id"]))["last_seq"] == 1
