"""The permission matrix: owner / member / removed member / outsider / superuser, for
every guarded action, over REST and over the socket. Refusals change nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest

from tests.helpers import Api, Person, Socket, connect

OK, FORBIDDEN, NOT_FOUND = "ok", 403, 404
ROLES = ("owner", "member", "removed", "outsider", "superuser")
# Rows: role; columns: read, send, add, remove, delete_chat, edit_others, delete_others.
MATRIX = {
    "owner": (OK, OK, OK, OK, OK, FORBIDDEN, FORBIDDEN),
    "member": (OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "removed": (NOT_FOUND,) * 7,
    "outsider": (NOT_FOUND,) * 7,
    "superuser": (OK, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
}
ACTIONS = ("read", "send", "add", "remove", "delete_chat", "edit_others", "delete_others")
WS_STATUS = {
    "ChatNotFound": NOT_FOUND,
    "MessageNotFound": NOT_FOUND,
    "NotChatOwner": FORBIDDEN,
    "NotChatMember": FORBIDDEN,
    "NotMessageSender": FORBIDDEN,
}


@dataclass
class Scene:
    chat_id: str
    actor: Person
    target: Person  # a member anyone might try to remove
    newcomer: Person  # a user anyone might try to add
    others_message: str  # a message the actor did not send

    @property
    def chat_url(self) -> str:
        return f"/api/v1/chats/{self.chat_id}"


@pytest.fixture
def make_scene(
    api: Api,
    superuser: Person,
    alice: Person,
    bob: Person,
    carol: Person,
    dave: Person,
    eve: Person,
) -> Callable[[str], Awaitable[Scene]]:
    async def make(role: str) -> Scene:
        chat = await api.create_chat(alice, bob, eve, carol, name="matrix")
        removed = await api.call(alice, "DELETE", f"/api/v1/chats/{chat['id']}/members/{carol.id}")
        assert removed.status_code == 200
        by_alice = (await api.send(alice, chat["id"], "from alice")).json()
        by_bob = (await api.send(bob, chat["id"], "from bob")).json()
        actor = {
            "owner": alice,
            "member": bob,
            "removed": carol,
            "outsider": dave,
            "superuser": superuser,
        }[role]
        others = by_bob if actor is alice else by_alice
        return Scene(chat["id"], actor, eve, dave, others["id"])

    return make


async def _rest(api: Api, action: str, s: Scene) -> Any:
    messages = f"{s.chat_url}/messages"
    calls: dict[str, tuple[str, str, dict[str, Any]]] = {
        "read": ("GET", messages, {}),
        "send": ("POST", messages, {"json": {"text": "hi"}}),
        "add": ("POST", f"{s.chat_url}/members", {"json": {"user_ids": [str(s.newcomer.id)]}}),
        "remove": ("DELETE", f"{s.chat_url}/members/{s.target.id}", {}),
        "delete_chat": ("DELETE", s.chat_url, {}),
        "edit_others": ("PATCH", f"{messages}/{s.others_message}", {"json": {"text": "x"}}),
        "delete_others": ("DELETE", f"{messages}/{s.others_message}", {}),
    }
    method, path, kwargs = calls[action]
    response = await api.call(s.actor, method, path, **kwargs)
    return OK if response.status_code < 300 else response.status_code


async def _ws(ws: Socket, action: str, s: Scene) -> Any:
    chat = {"chat_id": s.chat_id}
    calls: dict[str, tuple[str, dict[str, Any]]] = {
        "read": ("get_messages", chat),
        "send": ("send_message", {**chat, "text": "hi"}),
        "add": ("add_members", {**chat, "user_ids": [str(s.newcomer.id)]}),
        "remove": ("remove_members", {**chat, "user_ids": [str(s.target.id)]}),
        "delete_chat": ("delete_chat", chat),
        "edit_others": ("edit_message", {**chat, "message_id": s.others_message, "text": "x"}),
        "delete_others": ("delete_messages", {**chat, "message_ids": [s.others_message]}),
    }
    name, fields = calls[action]
    reply = await ws.request(name, **fields)
    return OK if reply["type"] == "result" else WS_STATUS[reply["error"]]


async def _snapshot(api: Api, owner: Person, s: Scene) -> Any:
    chat = await api.call(owner, "GET", s.chat_url)
    if chat.status_code == 404:
        return None
    return chat.json(), await api.messages(owner, s.chat_id)


CASES = [
    pytest.param(role, action, MATRIX[role][i], id=f"{role}-{action}")
    for role in ROLES
    for i, action in enumerate(ACTIONS)
]


class TestPermissionMatrix:
    @pytest.mark.parametrize(("role", "action", "expected"), CASES)
    async def test_rest(
        self,
        api: Api,
        alice: Person,
        make_scene: Callable[[str], Awaitable[Scene]],
        role: str,
        action: str,
        expected: Any,
    ) -> None:
        scene = await make_scene(role)
        before = await _snapshot(api, alice, scene)
        assert await _rest(api, action, scene) == expected
        if expected != OK:
            assert await _snapshot(api, alice, scene) == before

    @pytest.mark.parametrize(("role", "action", "expected"), CASES)
    async def test_ws(
        self,
        api: Api,
        chat_url: str,
        alice: Person,
        make_scene: Callable[[str], Awaitable[Scene]],
        role: str,
        action: str,
        expected: Any,
    ) -> None:
        scene = await make_scene(role)
        before = await _snapshot(api, alice, scene)
        async with connect(chat_url, "/ws", scene.actor) as ws:
            assert await _ws(ws, action, scene) == expected
        if expected != OK:
            assert await _snapshot(api, alice, scene) == before


class TestOutsidersLearnNothing:
    async def test_unknown_and_foreign_chats_look_the_same(
        self, api: Api, alice: Person, bob: Person, dave: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        foreign = await api.call(dave, "GET", f"/api/v1/chats/{chat['id']}")
        unknown = await api.call(dave, "GET", f"/api/v1/chats/{uuid4()}")
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json() == unknown.json()
