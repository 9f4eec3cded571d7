"""Sends that arrive together share one transaction, and each still gets its own answer."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from fastapi import FastAPI

from chat_service.context import Actor
from chat_service.errors import ChatNotFound
from chat_service.messages.schemas import SendResult
from chat_service.messages.sending import Send
from chat_service.state import ChatState
from tests.helpers import Api, Person, count_queries


def _send(person: Person, chat_id: str, text: str, key: str | None = None) -> Send:
    actor = Actor(user_id=person.id, display_name=person.name)
    return Send(actor, UUID(chat_id), text, key or uuid4().hex, keyed=key is not None)


class TestGroupCommit:
    async def test_sends_queued_together_commit_once_with_their_own_answers(
        self, api: Api, app: FastAPI, alice: Person, bob: Person, carol: Person, eve: Person
    ) -> None:
        state: ChatState = app.state.chat
        first = await api.create_chat(alice, bob)
        second = await api.create_chat(carol, bob)
        sends = [
            _send(alice, first["id"], "a1"),
            _send(eve, first["id"], "not a member"),
            _send(bob, second["id"], "b1"),
            _send(alice, first["id"], "twice", key="k"),
            _send(alice, str(uuid4()), "no such chat"),
            _send(alice, first["id"], "twice", key="k"),
            _send(bob, first["id"], "b2"),
        ]
        with count_queries(app) as statements:
            outcomes = await asyncio.gather(
                *(state.sends.submit(s) for s in sends), return_exceptions=True
            )
        # One transaction: the chats locked in one statement.
        assert len([s for s in statements if "FOR UPDATE" in s]) == 1
        assert isinstance(outcomes[1], ChatNotFound)
        assert isinstance(outcomes[4], ChatNotFound)
        results = [o for o in outcomes if isinstance(o, SendResult)]
        assert [(r.message.text, r.message.seq, r.duplicate) for r in results] == [
            ("a1", 1, False),
            ("b1", 1, False),
            ("twice", 2, False),
            ("twice", 2, True),
            ("b2", 3, False),
        ]
        assert results[2].message.id == results[3].message.id
        page = await api.messages(bob, first["id"])
        assert [m["text"] for m in page["items"]] == ["a1", "twice", "b2"]

    async def test_a_send_the_database_refuses_fails_alone(
        self, api: Api, app: FastAPI, alice: Person, bob: Person
    ) -> None:
        state: ChatState = app.state.chat
        chat = await api.create_chat(alice, bob)
        # Validation refuses NUL before a send is queued; past it, PostgreSQL refuses
        # the whole batch's INSERT, and the others are written again on their own.
        sends = [
            _send(alice, chat["id"], "before"),
            _send(bob, chat["id"], "bad \x00 text"),
            _send(bob, chat["id"], "after", key="after"),
        ]
        outcomes = await asyncio.gather(
            *(state.sends.submit(s) for s in sends), return_exceptions=True
        )
        assert isinstance(outcomes[1], Exception)
        assert not isinstance(outcomes[1], SendResult)
        page = await api.messages(alice, chat["id"])
        assert [(m["text"], m["seq"]) for m in page["items"]] == [("before", 1), ("after", 2)]
        stored = [o for o in outcomes if isinstance(o, SendResult)]
        assert [r.duplicate for r in stored] == [False, False]
