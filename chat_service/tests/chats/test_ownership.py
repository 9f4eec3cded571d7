"""The owner hands a chat over to another member (REST and the socket): roles and
rights move, every member hears it once, the old owner may then leave; refusals and a
hand-over to oneself change nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from tests.helpers import Api, Person, connect
from tests.test_outbox import outbox_of


def roles(chat: dict[str, Any]) -> dict[str, str]:
    return {m["user_id"]: m["role"] for m in chat["members"]}


class TestTransferOwnership:
    async def test_the_owner_hands_over_and_may_then_leave(
        self, api: Api, app: FastAPI, chat_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol)
        owner = f"/api/v1/chats/{chat['id']}/owner"
        async with connect(chat_url, "/ws", carol) as watcher:
            response = await api.call(alice, "PUT", owner, json={"user_id": str(bob.id)})
            assert response.status_code == 200
            handed = response.json()
            assert handed["owner_id"] == str(bob.id)
            assert roles(handed) == {
                str(alice.id): "member",
                str(bob.id): "owner",
                str(carol.id): "member",
            }
            event = await watcher.event("owner_changed")
            assert event["chat_id"] == chat["id"]
            assert event["data"] == {"owner_id": str(bob.id), "previous_owner_id": str(alice.id)}

        rename = {"name": "Bob's now"}
        refused = await api.call(alice, "PATCH", f"/api/v1/chats/{chat['id']}", json=rename)
        assert (refused.status_code, refused.json()["error"]) == (403, "NotChatOwner")
        renamed = await api.call(bob, "PATCH", f"/api/v1/chats/{chat['id']}", json=rename)
        assert renamed.status_code == 200
        left = await api.call(alice, "DELETE", f"/api/v1/chats/{chat['id']}/members/{alice.id}")
        assert left.status_code == 200
        stuck = await api.call(bob, "DELETE", f"/api/v1/chats/{chat['id']}/members/{bob.id}")
        assert (stuck.status_code, stuck.json()["error"]) == (409, "OwnerCannotLeave")

        [recorded] = [e for e in await outbox_of(app, chat["id"]) if "owner" in e["type"]]
        assert recorded["type"] == "chat.owner_changed"
        assert recorded["data"] == {
            "chat_id": chat["id"],
            "owner_id": str(bob.id),
            "previous_owner_id": str(alice.id),
        }

    async def test_over_the_socket(
        self, chat_url: str, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, "/ws", alice) as ws, connect(chat_url, "/ws", bob) as heir:
            reply = await ws.request("transfer_ownership", chat_id=chat["id"], user_id=str(bob.id))
            assert reply["type"] == "result"
            assert reply["chat"]["owner_id"] == str(bob.id)
            assert (await heir.event("owner_changed"))["data"]["owner_id"] == str(bob.id)
            back = await ws.request("transfer_ownership", chat_id=chat["id"], user_id=str(bob.id))
            assert (back["type"], back["error"]) == ("error", "NotChatOwner")

    async def test_refusals_and_oneself_change_nothing_and_tell_nobody(
        self,
        api: Api,
        app: FastAPI,
        chat_url: str,
        alice: Person,
        bob: Person,
        dave: Person,
        eve: Person,
    ) -> None:
        chat = await api.create_chat(alice, bob)
        owner = f"/api/v1/chats/{chat['id']}/owner"
        to_bob = {"user_id": str(bob.id)}
        cases = [
            (bob, to_bob, 403, "NotChatOwner"),
            (eve, to_bob, 404, "ChatNotFound"),
            (alice, {"user_id": str(dave.id)}, 404, "MemberNotFound"),
            (alice, {"user_id": "not-a-uuid"}, 422, "ValidationError"),
            (alice, {}, 422, "ValidationError"),
            (alice, {**to_bob, "extra": 1}, 422, "ValidationError"),
        ]
        async with connect(chat_url, "/ws", bob) as watcher:
            for person, body, status, error in cases:
                response = await api.call(person, "PUT", owner, json=body)
                assert (response.status_code, response.json()["error"]) == (status, error), body
            same = await api.call(alice, "PUT", owner, json={"user_id": str(alice.id)})
            assert same.status_code == 200
            assert roles(same.json()) == roles(chat)
            # The next thing the watcher hears is this, not an owner change.
            await api.call(alice, "PATCH", f"/api/v1/chats/{chat['id']}", json={"name": "x"})
            assert (await watcher.until(lambda f: f.get("type") == "event"))["event"] == (
                "chat_renamed"
            )
        unknown = await api.call(alice, "PUT", f"/api/v1/chats/{uuid4()}/owner", json=to_bob)
        assert unknown.status_code == 404
        fetched = await api.call(alice, "GET", f"/api/v1/chats/{chat['id']}")
        assert (fetched.json()["owner_id"], roles(fetched.json())) == (str(alice.id), roles(chat))
        assert not [e for e in await outbox_of(app, chat["id"]) if "owner" in e["type"]]
