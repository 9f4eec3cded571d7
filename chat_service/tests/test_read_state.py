"""Read state is one number per member, and the chat list costs a fixed number of queries."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select, text

from chat_service.models import Member
from chat_service.state import ChatState
from shared.db import Base
from tests.helpers import Api, Person, count_queries


class TestChatListQueries:
    async def test_query_count_does_not_grow_with_the_number_of_chats(
        self, api: Api, app: FastAPI, auth_people: list[Person]
    ) -> None:
        owner, reader = auth_people
        counts = []
        for total in (2, 12):
            while len((await api.call(reader, "GET", "/api/v1/chats")).json()["items"]) < total:
                chat = await api.create_chat(owner, reader)
                await api.send(owner, chat["id"], "hello")
            with count_queries(app) as statements:
                listing = await api.call(reader, "GET", "/api/v1/chats", params={"limit": 50})
            assert listing.status_code == 200
            assert all(c["unread_count"] == 1 for c in listing.json()["items"])
            counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
        assert counts[0] == counts[1]
        assert counts[1] <= 5


class TestReadStateSize:
    async def test_reading_adds_no_rows(
        self, api: Api, app: FastAPI, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol)
        for n in range(10):
            await api.send(alice, chat["id"], f"m{n}")
        for person in (bob, carol):
            await api.call(person, "POST", f"/api/v1/chats/{chat['id']}/read", json={"seq": 10})
        assert set(Base.metadata.tables) == {
            "chats", "chat_members", "messages", "attachments", "reactions", "invites", "outbox"
        }  # fmt: skip
        state: ChatState = app.state.chat
        async with state.sessionmaker() as session:
            members = await session.scalar(
                select(func.count()).select_from(Member).where(Member.chat_id == chat["id"])
            )
            assert members == 3
            assert await session.scalar(text("SELECT 1")) == 1
        page = await api.messages(alice, chat["id"])
        assert all(m["is_read"] for m in page["items"])
