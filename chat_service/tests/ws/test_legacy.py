"""Seed 000's endpoints as written there: /info, /create_chat, /ws/chat/{chat_id} and its
seven message types, authorised by the Authorization header."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
import pytest
import websockets

from tests.helpers import Api, Person, connect, ws_url

SEVEN = {
    "sending_message", "reading_messages", "get_chats", "add_user_to_chat",
    "delete_user_from_chat", "delete_chat", "delete_messages",
}  # fmt: skip


class TestInfo:
    async def test_info_socket_tells_and_closes(self, chat_url: str) -> None:
        async with websockets.connect(ws_url(chat_url, "/info")) as connection:
            info = json.loads(await connection.recv())
            with pytest.raises(websockets.ConnectionClosedOK):
                await connection.recv()
        assert {t["type"] for t in info["message_types"]} == SEVEN
        assert "/ws/chat/{chat_id}" in info["endpoints"]
        async with httpx.AsyncClient(base_url=chat_url) as client:
            assert (await client.get("/info")).json() == info


class TestCreateChatSocket:
    async def test_creates_a_chat_from_the_seed_frame(
        self, chat_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        async with connect(chat_url, "/create_chat", alice, header=True) as ws:
            await ws.send({"data": [str(bob.id), str(carol.id)], "chat_name": "Seed chat"})
            reply = await ws.recv()
            await ws.send({"data": [1, 2], "chat_name": "ints are not user ids"})
            refused = await ws.recv()
        assert reply["type"] == "result"
        assert reply["action"] == "create_chat"
        assert reply["chat"]["name"] == "Seed chat"
        assert reply["chat"]["type"] == "group"
        assert refused["error"] == "ValidationError"

    async def test_requires_a_token(self, chat_url: str) -> None:
        async with websockets.connect(ws_url(chat_url, "/create_chat")) as connection:
            with pytest.raises(websockets.ConnectionClosed):
                await connection.recv()
        assert connection.close_code == 4401


class TestChatSocket:
    async def test_the_seven_message_types(
        self, api: Api, chat_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, name="seven")
        path = f"/ws/chat/{chat['id']}"
        async with (
            connect(chat_url, path, alice, header=True) as owner,
            connect(chat_url, path, bob, header=True) as member,
        ):
            await owner.send({"type": "sending_message", "data": "Hello world!"})
            sent = await owner.until(lambda f: f["type"] == "result")
            assert sent["action"] == "sending_message"
            assert sent["message"]["seq"] == 1
            heard = await member.event("message_created")
            assert heard["data"]["text"] == "Hello world!"

            await member.send({"type": "reading_messages", "data": [1]})
            read = await member.until(lambda f: f["type"] == "result")
            assert read["last_read_seq"] == 1
            assert read["read_seq"] == 1

            await member.send({"type": "get_chats"})
            chats = await member.until(lambda f: f["type"] == "result")
            assert chat["id"] in {c["id"] for c in chats["items"]}

            await owner.send({"type": "add_user_to_chat", "data": [str(carol.id)]})
            added = await owner.until(lambda f: f["type"] == "result")
            assert added["chat"]["type"] == "group"

            async with connect(chat_url, path, carol, header=True) as newcomer:
                await owner.send({"type": "delete_user_from_chat", "data": [str(carol.id)]})
                await owner.until(lambda f: f["type"] == "result")
                code, reason = await newcomer.closed()
            assert (code, reason) == (4403, "removed from the chat")

            await member.send({"type": "delete_messages", "data": [1]})
            refused = await member.until(lambda f: f["type"] == "error")
            assert refused["error"] == "NotMessageSender"
            await owner.send({"type": "delete_messages", "data": [sent["message"]["id"]]})
            deleted = await owner.until(lambda f: f["type"] == "result")
            assert deleted["messages"][0]["deleted"] is True

            await member.send({"type": "delete_chat"})
            assert (await member.until(lambda f: f["type"] == "error"))["error"] == "NotChatOwner"
            await owner.send({"type": "delete_chat"})
            # Deleting the chat closes every socket of it (seed 000).
            assert (await owner.closed())[0] == 1000
            assert (await member.closed())[0] == 1000
        assert (await api.call(alice, "GET", f"/api/v1/chats/{chat['id']}")).status_code == 404

    async def test_hears_only_its_own_chat(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        one = await api.create_chat(alice, bob)
        other = await api.create_chat(alice, bob)
        async with connect(chat_url, f"/ws/chat/{one['id']}", bob) as ws:
            await api.send(alice, other["id"], "elsewhere")
            await api.send(alice, one["id"], "here")
            event = await ws.event("message_created")
        assert event["data"]["text"] == "here"
        assert not ws.skipped

    async def test_bad_frames_get_errors_and_the_socket_stays(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, f"/ws/chat/{chat['id']}", alice) as ws:
            await ws.send({"type": "shout", "data": "hi"})
            unknown = await ws.recv()
            assert unknown["error"] == "unknown_action"
            assert set(unknown["supported"]) == SEVEN
            assert "/info" in unknown["detail"]
            await ws.send({"type": "sending_message", "data": ""})
            assert (await ws.recv())["error"] == "ValidationError"
            await ws.send({"type": "sending_message", "data": ["not", "text"]})
            assert (await ws.recv())["error"] == "ValidationError"
            for kind in ("reading_messages", "delete_messages"):
                await ws.send({"type": kind, "data": [2**63]})
                assert (await ws.recv())["error"] == "ValidationError", kind
            await ws.send("nope")
            assert (await ws.recv())["error"] == "invalid_json"
            # Deeper than the JSON parser goes: invalid too, and the socket stays.
            await ws.send("[" * 20_000 + "]" * 20_000)
            assert (await ws.recv())["error"] == "invalid_json"
            await ws.send({"type": "sending_message", "data": "fine"})
            sent = await ws.until(lambda f: f["type"] == "result")
            assert sent["message"]["seq"] == 1

    async def test_a_refused_delete_chat_keeps_the_socket(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, f"/ws/chat/{chat['id']}", bob) as ws:
            await ws.send({"type": "delete_chat"})
            assert (await ws.recv())["action"] == "delete_chat"
            await ws.send({"type": "get_chats"})
            assert (await ws.until(lambda f: f["type"] == "result"))["action"] == "get_chats"

    @pytest.mark.parametrize("who", ["outsider", "unknown", "malformed"])
    async def test_outsiders_and_unknown_chats_are_closed(
        self, api: Api, chat_url: str, alice: Person, bob: Person, dave: Person, who: str
    ) -> None:
        chat = await api.create_chat(alice, bob)
        chat_id = {"outsider": chat["id"], "unknown": str(uuid4()), "malformed": "7"}[who]
        async with connect(chat_url, f"/ws/chat/{chat_id}", dave, header=True) as ws:
            code, _ = await ws.closed()
        assert code == (4403 if who == "outsider" else 4404)
