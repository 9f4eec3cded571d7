"""The per-user socket ``/ws``: actions, replies, events, errors and limits."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import pytest
import websockets

from chat_service.messages import service as messages_service
from chat_service.ws.protocol import ACTIONS
from tests.helpers import Api, Person, connect, ws_url

DESIGN_ACTIONS = {
    "ping", "help", "list_chats", "create_chat", "get_messages", "send_message",
    "edit_message", "delete_messages", "read_messages", "add_members", "remove_members",
    "delete_chat", "typing",
}  # fmt: skip


class TestHandshake:
    async def test_header_or_query_token_connects(self, chat_url: str, alice: Person) -> None:
        async with connect(chat_url, "/ws", alice, header=True) as ws:
            assert (await ws.request("ping"))["pong"] is True
        async with connect(chat_url, "/ws", alice) as ws:
            reply = await ws.request("ping")
            assert reply["type"] == "result"
            assert reply["action"] == "ping"

    @pytest.mark.parametrize("token", [None, "garbage", "eyJhbGciOiJub25lIn0.e30."])
    async def test_no_or_bad_token_closes_4401(self, chat_url: str, token: str | None) -> None:
        async with websockets.connect(ws_url(chat_url, "/ws", token)) as connection:
            with pytest.raises(websockets.ConnectionClosed):
                await connection.recv()
        assert connection.close_code == 4401


class TestHelp:
    async def test_help_lists_every_action_with_an_example(
        self, chat_url: str, alice: Person
    ) -> None:
        async with connect(chat_url, "/ws", alice) as ws:
            reply = await ws.request("help")
        listed = {a["action"]: a for a in reply["actions"]}
        assert set(listed) >= DESIGN_ACTIONS
        assert set(listed) == set(ACTIONS)
        for name, entry in listed.items():
            assert entry["example"]["action"] == name
            assert entry["summary"]
        assert "text" in listed["send_message"]["fields"]
        assert "chat_id" in listed["send_message"]["required"]
        assert "message_created" in reply["events"]

    async def test_unknown_action_answers_with_the_supported_list(
        self, chat_url: str, alice: Person
    ) -> None:
        async with connect(chat_url, "/ws", alice) as ws:
            await ws.send({"action": "list", "request_id": "x"})
            reply = await ws.recv()
            await ws.send({"no_action": True})
            missing = await ws.recv()
        assert reply["type"] == "error"
        assert reply["error"] == "unknown_action"
        assert reply["raw_action"] == "list"
        assert reply["request_id"] == "x"
        assert set(reply["supported"]) == set(ACTIONS)
        assert missing["error"] == "unknown_action"
        assert missing["raw_action"] is None


class TestBadInput:
    async def test_invalid_json_and_wrong_types_leave_the_socket_usable(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, "/ws", alice) as ws:
            await ws.send("{not json")
            assert await ws.recv() == {"type": "error", "error": "invalid_json"}
            await ws.send("[1, 2]")
            assert (await ws.recv())["error"] == "invalid_request"
            await ws.connection.send(json.dumps({"action": "ping"}).encode())
            assert await ws.recv() == {
                "type": "error",
                "error": "text_only",
                "detail": "send JSON as text frames",
            }
            wrong = await ws.request("send_message", chat_id=chat["id"], text=42)
            assert wrong["error"] == "ValidationError"
            assert wrong["action"] == "send_message"
            assert wrong["detail"][0]["loc"] == ["text"]
            for fields in (
                {"chat_id": chat["id"], "text": ""},
                {"chat_id": chat["id"], "text": "x" * 4001},
                {"chat_id": "not-a-uuid", "text": "hi"},
                {"text": "hi"},
                {"chat_id": chat["id"], "text": "hi", "extra": 1},
            ):
                reply = await ws.request("send_message", **fields)
                assert reply["error"] == "ValidationError", fields
            huge = 2**63  # past a BIGINT as well
            for action, fields in (
                ("get_messages", {"chat_id": chat["id"], "after_seq": huge}),
                ("get_messages", {"chat_id": chat["id"], "before_seq": huge}),
                ("list_chats", {"offset": huge}),
                ("read_messages", {"chat_id": chat["id"], "seq": huge}),
            ):
                reply = await ws.request(action, **fields)
                assert reply["error"] == "ValidationError", (action, fields)
            unknown = await ws.request("send_message", chat_id=str(uuid4()), text="hi")
            assert unknown["error"] == "ChatNotFound"
            assert (await api.messages(alice, chat["id"]))["items"] == []
            ok = await ws.request("send_message", chat_id=chat["id"], text="still works")
            assert ok["type"] == "result"
            assert ok["message"]["seq"] == 1

    async def test_a_frame_over_64_kib_closes_1009(self, chat_url: str, alice: Person) -> None:
        async with connect(chat_url, "/ws", alice) as ws:
            await ws.send(json.dumps({"action": "ping", "pad": "x" * 70_000}))
            code, _ = await ws.closed()
        assert code == 1009

    async def test_flooding_gets_errors_then_close_4429(self, chat_url: str, alice: Person) -> None:
        async with connect(chat_url, "/ws", alice) as ws:
            for _ in range(200):
                try:
                    await ws.send({"action": "ping"})
                except websockets.ConnectionClosed:
                    break
            code, _ = await ws.closed()
        assert code == 4429
        errors = [f for f in ws.received if f.get("type") == "error"]
        assert errors
        assert errors[0]["error"] == "rate_limited"


class TestOurFailures:
    async def test_are_answered_with_the_request_id_and_a_retry_succeeds(
        self, chat_url: str, api: Api, alice: Person, bob: Person, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        chat = await api.create_chat(alice, bob)
        send = {"chat_id": chat["id"], "text": "hi", "client_message_id": "lost-db"}

        async def database_gone(*_: object, **__: object) -> None:
            raise ConnectionResetError("connection was closed in the middle of operation")

        async with connect(chat_url, "/ws", alice) as ws:
            monkeypatch.setattr(messages_service, "send_message", database_gone)
            failed = await ws.request("send_message", **send)
            monkeypatch.undo()
            retried = await ws.request("send_message", **send)
        assert (failed["type"], failed["action"], failed["error"]) == (
            "error",
            "send_message",
            "internal_error",
        )
        assert failed["request_id"]
        assert retried["type"] == "result"
        assert retried["message"]["seq"] == 1


class TestEvents:
    async def test_events_of_every_chat_reach_every_socket_of_the_user(
        self, api: Api, chat_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        first = await api.create_chat(alice, bob)
        second = await api.create_chat(carol, bob)
        async with connect(chat_url, "/ws", bob) as phone, connect(chat_url, "/ws", bob) as pc:
            await api.send(alice, first["id"], "in first")
            await api.send(carol, second["id"], "in second")
            for ws in (phone, pc):
                one = await ws.event("message_created")
                two = await ws.event("message_created")
                assert {one["chat_id"], two["chat_id"]} == {first["id"], second["id"]}
                assert {one["data"]["text"], two["data"]["text"]} == {"in first", "in second"}

    async def test_request_ids_correlate_and_lifecycle_events_arrive(
        self, chat_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        async with connect(chat_url, "/ws", alice) as a, connect(chat_url, "/ws", bob) as b:
            created = await a.request("create_chat", name="via ws", member_ids=[str(bob.id)])
            assert created["type"] == "result"
            assert created["request_id"].startswith("r")
            chat = created["chat"]
            assert chat["type"] == "private"
            assert (await b.event("chat_created"))["chat_id"] == chat["id"]
            sent = await a.request("send_message", chat_id=chat["id"], text="hi")
            message = sent["message"]
            assert (await b.event("message_created"))["data"]["id"] == message["id"]
            await b.request("typing", chat_id=chat["id"])
            typing = await a.event("typing")
            assert typing["data"]["user_id"] == str(bob.id)
            read = await b.request("read_messages", chat_id=chat["id"], seq=1)
            assert read["read_seq"] == 1
            assert (await a.event("read"))["data"]["read_seq"] == 1
            edited = await a.request(
                "edit_message", chat_id=chat["id"], message_id=message["id"], text="hello"
            )
            assert edited["message"]["text"] == "hello"
            assert (await b.event("message_edited"))["data"]["text"] == "hello"
            await a.request("delete_messages", chat_id=chat["id"], message_ids=[message["id"]])
            assert (await b.event("message_deleted"))["data"]["seqs"] == [1]
            grown = await a.request("add_members", chat_id=chat["id"], user_ids=[str(carol.id)])
            assert grown["chat"]["type"] == "group"
            assert (await b.event("member_added"))["data"]["user_ids"] == [str(carol.id)]
            await a.request("remove_members", chat_id=chat["id"], user_ids=[str(bob.id)])
            assert (await b.event("member_removed"))["data"]["user_ids"] == [str(bob.id)]
            renamed = await a.request("rename_chat", chat_id=chat["id"], name="renamed")
            assert renamed["chat"]["name"] == "renamed"
            deleted = await a.request("delete_chat", chat_id=chat["id"])
            assert deleted["chat_id"] == chat["id"]
            # The event was delivered before the reply to the socket that acted.
            assert any(f.get("event") == "chat_deleted" for f in a.skipped)
            listed = await b.request("list_chats")
            assert chat["id"] not in {c["id"] for c in listed["items"]}

    async def test_after_seq_gives_a_reconnecting_client_exactly_what_it_missed(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, "/ws", bob) as ws:
            await api.send(alice, chat["id"], "seen")
            last_seen = (await ws.event("message_created"))["data"]["seq"]
        for n in range(5):
            await api.send(alice, chat["id"], f"missed {n}")
        async with connect(chat_url, "/ws", bob) as ws:
            page = await ws.request("get_messages", chat_id=chat["id"], after_seq=last_seen)
        assert [m["text"] for m in page["items"]] == [f"missed {n}" for n in range(5)]
        assert [m["seq"] for m in page["items"]] == [2, 3, 4, 5, 6]
        assert page["has_more"] is False

    async def test_a_retry_after_a_dropped_connection_returns_the_original(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, "/ws", alice) as ws:
            await ws.send(
                {"action": "send_message", "chat_id": chat["id"], "text": "hi",
                 "client_message_id": "retry-1"}
            )  # fmt: skip
        # The socket dropped before the reply was read; the client retries.
        async with connect(chat_url, "/ws", alice) as ws:
            await asyncio.sleep(0)
            reply = await ws.request(
                "send_message", chat_id=chat["id"], text="hi", client_message_id="retry-1"
            )
        page = await api.messages(alice, chat["id"])
        assert len(page["items"]) == 1
        assert reply["message"]["id"] == page["items"][0]["id"]


class TestInvites:
    async def test_invite_link_over_rest_and_ws(
        self, api: Api, chat_url: str, alice: Person, bob: Person, carol: Person, dave: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        made = await api.call(
            alice, "POST", f"/api/v1/chats/{chat['id']}/invites", json={"max_uses": 1}
        )
        assert made.status_code == 201
        invite = made.json()
        assert invite["url"].endswith(f"/api/v1/invites/{invite['token']}")
        forbidden = await api.call(bob, "POST", f"/api/v1/chats/{chat['id']}/invites", json={})
        assert forbidden.status_code == 403
        preview = await api.call(carol, "GET", f"/api/v1/invites/{invite['token']}")
        assert preview.json()["chat_name"] == chat["name"]
        async with connect(chat_url, "/ws", carol) as ws:
            seen = await ws.request("preview_invite", token=invite["token"])
            assert seen["invite"]["member_count"] == 2
            joined = await ws.request("accept_invite", token=invite["token"])
        assert joined["chat"]["type"] == "group"
        assert str(carol.id) in {m["user_id"] for m in joined["chat"]["members"]}
        used_up = await api.call(dave, "POST", f"/api/v1/invites/{invite['token']}/accept")
        assert used_up.status_code == 404
        bogus = await api.call(dave, "POST", "/api/v1/invites/nope/accept")
        assert bogus.status_code == 404

    async def test_the_owner_lists_and_revokes_invites(
        self, api: Api, chat_url: str, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        base = f"/api/v1/chats/{chat['id']}/invites"
        first = (await api.call(alice, "POST", base, json={})).json()
        used = (await api.call(alice, "POST", base, json={"max_uses": 1})).json()
        await api.call(carol, "POST", f"/api/v1/invites/{used['token']}/accept")
        second = (await api.call(alice, "POST", base, json={})).json()

        listed = await api.call(alice, "GET", base)
        assert [i["token"] for i in listed.json()["items"]] == [second["token"], first["token"]]
        assert (await api.call(bob, "GET", base)).status_code == 403

        assert (await api.call(bob, "DELETE", f"{base}/{first['token']}")).status_code == 403
        assert (await api.call(alice, "DELETE", f"{base}/{first['token']}")).status_code == 204
        gone = await api.call(alice, "DELETE", f"{base}/{first['token']}")
        assert (gone.status_code, gone.json()["error"]) == (404, "InviteNotFound")
        refused = await api.call(bob, "POST", f"/api/v1/invites/{first['token']}/accept")
        assert refused.status_code == 404  # bob is a member anyway; nobody gets in by it

        other = await api.create_chat(alice, carol)
        elsewhere = await api.call(
            alice, "DELETE", f"/api/v1/chats/{other['id']}/invites/{second['token']}"
        )
        assert elsewhere.status_code == 404
        async with connect(chat_url, "/ws", alice) as ws:
            revoked = await ws.request("revoke_invite", chat_id=chat["id"], token=second["token"])
            assert revoked["token"] == second["token"]
            remaining = await ws.request("list_invites", chat_id=chat["id"])
            assert remaining["items"] == []
        members = (await api.call(alice, "GET", f"/api/v1/chats/{chat['id']}")).json()["members"]
        assert str(carol.id) in {m["user_id"] for m in members}  # let in before: stays

    async def test_a_token_with_nul_is_refused_not_looked_up(
        self, api: Api, chat_url: str, alice: Person
    ) -> None:
        # PostgreSQL text cannot hold NUL: this was a 500 and an internal_error frame.
        assert (await api.call(alice, "GET", "/api/v1/invites/a%00b")).status_code == 422
        async with connect(chat_url, "/ws", alice) as ws:
            reply = await ws.request("accept_invite", token="a\x00b")
        assert reply["error"] == "ValidationError"

    async def test_refusals_are_in_the_openapi_document(self, api: Api) -> None:
        paths = (await api.client.get("/openapi.json")).json()["paths"]
        assert {"403", "404"} <= set(paths["/api/v1/chats/{chat_id}/invites"]["post"]["responses"])
        assert "404" in paths["/api/v1/invites/{token}"]["get"]["responses"]
        assert "404" in paths["/api/v1/invites/{token}/accept"]["post"]["responses"]
        rest = [
            op for name, path in paths.items() if name.startswith("/api/") for op in path.values()
        ]
        assert rest
        assert all({"401", "503"} <= set(op["responses"]) for op in rest)
