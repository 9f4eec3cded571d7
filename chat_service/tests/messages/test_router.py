"""REST: send, page, edit, delete, read marks."""

from __future__ import annotations

from uuid import uuid4

from fastapi import FastAPI

from shared.db import MAX_SAFE_INTEGER
from tests.helpers import Api, Person, count_queries


def _lookups_by_client_message_id(statements: list[str]) -> int:
    return sum(
        1 for s in statements if s.lstrip().startswith("SELECT") and "client_message_id =" in s
    )


class TestSendCost:
    async def test_a_send_without_client_message_id_looks_nothing_up(
        self, api: Api, app: FastAPI, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        with count_queries(app) as statements:
            assert (await api.send(alice, chat["id"], "fresh")).status_code == 201
        assert _lookups_by_client_message_id(statements) == 0
        # Lock the chat, read the sender's and all members, insert, two updates; the
        # outbox row (and the relay's own statements) aside.
        assert len([s for s in statements if "outbox" not in s]) <= 6

    async def test_a_send_with_client_message_id_looks_it_up_once(
        self, api: Api, app: FastAPI, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        with count_queries(app) as statements:
            response = await api.send(alice, chat["id"], "once", client_message_id="c-1")
            assert response.status_code == 201
        assert _lookups_by_client_message_id(statements) == 1


class TestSendMessage:
    async def test_text_with_nul_is_refused(self, api: Api, alice: Person, bob: Person) -> None:
        # PostgreSQL text cannot hold NUL: this was a 500 (an internal_error over /ws).
        chat = await api.create_chat(alice, bob)
        assert (await api.send(alice, chat["id"], "a\x00b")).status_code == 422
        assert (await api.messages(alice, chat["id"]))["items"] == []

    async def test_send_returns_the_message_with_seq(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        response = await api.send(alice, chat["id"], "Hello world!")
        assert response.status_code == 201
        message = response.json()
        assert message["seq"] == 1
        assert message["text"] == "Hello world!"
        assert message["sender_id"] == str(alice.id)
        assert message["chat_id"] == chat["id"]
        assert message["edited_at"] is None
        assert message["is_read"] is False

    async def test_retry_returns_original(self, api: Api, alice: Person, bob: Person) -> None:
        chat = await api.create_chat(alice, bob)
        first = await api.send(alice, chat["id"], "once", client_message_id="k-1")
        retry = await api.send(alice, chat["id"], "once, again", client_message_id="k-1")
        assert first.status_code == 201
        assert retry.status_code == 200
        assert retry.json()["id"] == first.json()["id"]
        assert retry.json()["text"] == "once"
        # Another sender may use the same key.
        other = await api.send(bob, chat["id"], "mine", client_message_id="k-1")
        assert other.status_code == 201
        page = await api.messages(alice, chat["id"])
        assert [m["seq"] for m in page["items"]] == [1, 2]

    async def test_bad_input_is_refused_and_stores_nothing(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        for body in (
            {"text": ""},
            {"text": "   "},
            {"text": "x" * 4001},
            {"text": 42},
            {"text": "ok", "client_message_id": "k" * 65},
            {},
        ):
            response = await api.call(
                alice, "POST", f"/api/v1/chats/{chat['id']}/messages", json=body
            )
            assert response.status_code == 422, body
        invalid = await api.client.post(
            f"/api/v1/chats/{chat['id']}/messages",
            content=b"{not json",
            headers={**alice.headers, "Content-Type": "application/json"},
        )
        assert invalid.status_code == 422
        assert (await api.send(alice, str(uuid4()), "hi")).status_code == 404
        assert (await api.messages(alice, chat["id"]))["items"] == []
        assert (await api.send(alice, chat["id"], "x" * 4000)).status_code == 201


class TestGetMessages:
    async def test_pages_by_seq_and_catches_up_after_seq(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        for n in range(1, 8):
            await api.send(alice if n % 2 else bob, chat["id"], f"m{n}")
        newest = await api.messages(bob, chat["id"], limit=3)
        assert [m["seq"] for m in newest["items"]] == [5, 6, 7]
        assert newest["has_more"] is True
        assert newest["last_seq"] == 7
        older = await api.messages(bob, chat["id"], before_seq=5, limit=3)
        assert [m["seq"] for m in older["items"]] == [2, 3, 4]
        missed = await api.messages(bob, chat["id"], after_seq=4)
        assert [m["text"] for m in missed["items"]] == ["m5", "m6", "m7"]
        assert missed["has_more"] is False
        window = await api.messages(bob, chat["id"], after_seq=2, before_seq=5)
        assert [m["seq"] for m in window["items"]] == [3, 4]
        assert (await api.messages(bob, chat["id"], after_seq=7))["items"] == []


class TestEditAndDelete:
    async def test_sender_edits_and_deletes_others_cannot(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        message = (await api.send(alice, chat["id"], "tpyo")).json()
        url = f"/api/v1/chats/{chat['id']}/messages/{message['id']}"
        edited = await api.call(alice, "PATCH", url, json={"text": "typo"})
        assert edited.status_code == 200
        assert edited.json()["text"] == "typo"
        assert edited.json()["edited_at"] is not None
        assert (await api.call(bob, "PATCH", url, json={"text": "x"})).status_code == 403
        assert (await api.call(bob, "DELETE", url)).status_code == 403
        assert (await api.call(alice, "DELETE", url)).status_code == 204
        page = await api.messages(bob, chat["id"])
        assert page["items"][0]["deleted"] is True
        assert page["items"][0]["text"] == ""
        assert page["items"][0]["seq"] == 1
        again = await api.call(alice, "PATCH", url, json={"text": "back"})
        assert again.status_code == 409
        missing = f"/api/v1/chats/{chat['id']}/messages/{uuid4()}"
        assert (await api.call(alice, "DELETE", missing)).status_code == 404


class TestReadMessages:
    async def test_read_positions_make_messages_read_by_everyone(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol)
        for n in range(3):
            await api.send(alice, chat["id"], f"m{n}")
        url = f"/api/v1/chats/{chat['id']}/read"
        bob_read = await api.call(bob, "POST", url, json={"seq": 3})
        assert bob_read.json()["unread_count"] == 0
        assert bob_read.json()["read_seq"] == 0
        assert all(not m["is_read"] for m in (await api.messages(alice, chat["id"]))["items"])
        carol_read = await api.call(carol, "POST", url, json={"seq": 2})
        assert carol_read.json() == {
            "chat_id": chat["id"],
            "user_id": str(carol.id),
            "last_read_seq": 2,
            "unread_count": 1,
            "read_seq": 2,
        }
        flags = [m["is_read"] for m in (await api.messages(alice, chat["id"]))["items"]]
        assert flags == [True, True, False]
        # Never backwards, never past the newest message.
        assert (await api.call(carol, "POST", url, json={"seq": 1})).json()["last_read_seq"] == 2
        assert (await api.call(carol, "POST", url, json={"seq": 99})).json()["last_read_seq"] == 3
        assert (await api.call(carol, "POST", url, json={"seq": -1})).status_code == 422

    async def test_numbers_past_the_safe_integers_are_422_not_500(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        await api.send(alice, chat["id"], "hello")
        huge = MAX_SAFE_INTEGER + 1
        for url in (
            f"/api/v1/chats/{chat['id']}/messages?after_seq={huge}",
            f"/api/v1/chats/{chat['id']}/messages?before_seq={huge}",
            f"/api/v1/chats?offset={huge}",
        ):
            assert (await api.call(alice, "GET", url)).status_code == 422, url
        read = await api.call(bob, "POST", f"/api/v1/chats/{chat['id']}/read", json={"seq": huge})
        assert read.status_code == 422
        largest = MAX_SAFE_INTEGER
        page = await api.call(
            alice, "GET", f"/api/v1/chats/{chat['id']}/messages?after_seq={largest}"
        )
        assert page.status_code == 200
        assert page.json()["items"] == []

    async def test_a_boolean_is_not_a_seq(self, api: Api, alice: Person, bob: Person) -> None:
        chat = await api.create_chat(alice, bob)
        await api.send(alice, chat["id"], "hello")
        url = f"/api/v1/chats/{chat['id']}/read"
        for flag in (False, True):
            assert (await api.call(bob, "POST", url, json={"seq": flag})).status_code == 422
