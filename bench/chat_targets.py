"""The two chat servers the benchmark drives, behind one small interface.

Both speak seed 000's per-chat socket (``/ws/chat/{chat_id}``, ``{"type":
"sending_message", "data": text}``) and announce each new message to every socket of the
chat, the sender's included. They differ in how a chat is created, how a socket says
who it is, what the announcement looks like and how stored messages are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import httpx

from shared.testing.auth_service import register_many


@dataclass(frozen=True)
class User:
    id: UUID
    token: str


class ChatTarget(Protocol):
    name: str
    # Frames that announce a new message start with this; nothing else does.
    announcement: str

    async def create_chat(self, owner: User, members: Sequence[User]) -> str: ...

    def socket_url(self, chat_id: str, user: User) -> str: ...

    async def stored(self, chat_id: str, reader: User) -> int:
        """How many messages the chat holds in the database."""
        ...


class Ours:
    """chat_service: token checked at the handshake, a result reply to the sender and
    an event to every member (the sender's sockets too)."""

    name = "ours"
    announcement = '{"type":"event","event":"message_created"'

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self._url = url
        self._client = client

    async def create_chat(self, owner: User, members: Sequence[User]) -> str:
        response = await self._client.post(
            f"{self._url}/api/v1/chats",
            json={"name": "bench", "member_ids": [str(m.id) for m in members]},
            headers={"Authorization": f"Bearer {owner.token}"},
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def socket_url(self, chat_id: str, user: User) -> str:
        return f"{_ws(self._url)}/ws/chat/{chat_id}?token={user.token}"

    async def stored(self, chat_id: str, reader: User) -> int:
        # The per-chat seq is gap-free, so the newest seq is the number stored.
        response = await self._client.get(
            f"{self._url}/api/v1/chats/{chat_id}/messages",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {reader.token}"},
        )
        response.raise_for_status()
        return int(response.json()["last_seq"])


class Baseline:
    """bench/baseline/chat_server.py: the user id in the query, no token at all."""

    name = "baseline"
    announcement = '{"type": "new_message"'

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self._url = url
        self._client = client

    async def create_chat(self, owner: User, members: Sequence[User]) -> str:
        response = await self._client.post(
            f"{self._url}/chats",
            json={"name": "bench", "member_ids": [str(u.id) for u in (owner, *members)]},
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def socket_url(self, chat_id: str, user: User) -> str:
        return f"{_ws(self._url)}/ws/chat/{chat_id}?user_id={user.id}"

    async def stored(self, chat_id: str, reader: User) -> int:
        response = await self._client.get(f"{self._url}/chats/{chat_id}/messages/count")
        response.raise_for_status()
        return int(response.json()["count"])


def _ws(url: str) -> str:
    return url.replace("http://", "ws://", 1)


async def make_users(auth_url: str, total: int) -> list[User]:
    """Users registered and logged in through auth_service's API (argon2id twice each):
    chat_service adds to a chat only users auth_service knows."""
    names = [f"Member{number}" for number in range(total)]
    return [User(u.id, u.access_token) for u in await register_many(auth_url, names)]
