"""chat_service clients as a real app would write them: REST or one socket per user, and a
send that retries with the same client_message_id until the server acknowledges it."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bench.faults.domain_events import Envelope, Identify
from bench.faults.domain_sockets import NoReply, ReplySocket
from shared.testing.auth_service import AuthUser

Message = dict[str, Any]
PAGE = 200


class SendFailed(Exception):
    """No acknowledgement: the client cannot tell whether the message was stored."""


@dataclass(frozen=True)
class Acknowledged:
    message: Message
    duplicate: bool


class Sender(Protocol):
    user: AuthUser

    async def send(self, chat_id: str, text: str, client_message_id: str) -> Acknowledged: ...


@dataclass
class ChatRest:
    client: httpx.AsyncClient
    user: AuthUser

    async def create_chat(self, name: str, members: list[AuthUser]) -> str:
        body = {"name": name, "member_ids": [str(m.id) for m in members]}
        response = await self.client.post("/api/v1/chats", json=body, headers=self.user.headers)
        response.raise_for_status()
        chat_id: str = response.json()["id"]
        return chat_id

    async def send(self, chat_id: str, text: str, client_message_id: str) -> Acknowledged:
        try:
            response = await self.client.post(
                f"/api/v1/chats/{chat_id}/messages",
                json={"text": text, "client_message_id": client_message_id},
                headers=self.user.headers,
            )
        except httpx.TransportError as exc:
            raise SendFailed(repr(exc)) from exc
        if response.status_code not in (200, 201):
            raise SendFailed(f"{response.status_code} {response.text[:200]}")
        return Acknowledged(response.json(), duplicate=response.status_code == 200)

    async def history(self, chat_id: str) -> list[Message]:
        """Every message of the chat in seq order, paged as a reconnecting client does."""
        messages: list[Message] = []
        while True:
            response = await self.client.get(
                f"/api/v1/chats/{chat_id}/messages",
                params={"after_seq": messages[-1]["seq"] if messages else 0, "limit": PAGE},
                headers=self.user.headers,
            )
            response.raise_for_status()
            page = response.json()
            messages.extend(page["items"])
            if not page["has_more"]:
                return messages


class ChatSocket(ReplySocket):
    """One ``/ws`` socket of the user (events of all their chats arrive on it too)."""

    def __init__(self, base_url: str, user: AuthUser) -> None:
        super().__init__(f"{base_url}/ws?token={user.access_token}")
        self.user = user

    async def send(self, chat_id: str, text: str, client_message_id: str) -> Acknowledged:
        try:
            reply = await self.request(
                "send_message", chat_id=chat_id, text=text, client_message_id=client_message_id
            )
        except NoReply as exc:
            raise SendFailed(str(exc)) from exc
        if reply.get("type") != "result":
            raise SendFailed(f"{reply.get('error')}: {reply.get('detail')}")
        return Acknowledged(reply["message"], duplicate=bool(reply["duplicate"]))


async def send_until_acknowledged(
    sender: Sender, chat_id: str, text: str, client_message_id: str, *, attempts: int = 20
) -> tuple[Acknowledged, int]:
    """Send, and on any failure send again with the same client_message_id (a real client
    cannot know whether the failed attempt was stored); returns the reply and the retries."""
    failures: list[str] = []
    for retry in range(attempts):
        try:
            return await sender.send(chat_id, text, client_message_id), retry
        except SendFailed as exc:
            failures.append(str(exc))
            await asyncio.sleep(0.05 * (retry + 1))
    raise SendFailed(f"{client_message_id} not acknowledged: {Counter(failures)}")


def seq_gaps(messages: list[Message]) -> list[int]:
    """Seqs missing from 1..last (history is in seq order)."""
    present = {m["seq"] for m in messages}
    return [s for s in range(1, max(present, default=0) + 1) if s not in present]


def messages_created(prefix: str) -> Identify:
    """Names a chat.message_created event by its text, for texts that start with prefix."""

    def identify(envelope: Envelope) -> str | None:
        if envelope["type"] != "chat.message_created":
            return None
        text: str = envelope["data"]["text"]
        return text if text.startswith(prefix) else None

    return identify
