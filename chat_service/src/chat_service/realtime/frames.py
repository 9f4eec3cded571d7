"""The shape of server-sent events, the same on ``/ws`` and ``/ws/chat/{chat_id}``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID

from shared.ws.wire import TextFrame

PRESENCE = "presence"


def event_frame(event: str, chat_id: UUID, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": event, "chat_id": str(chat_id), "data": data}


def presence_frame(user_id: UUID, *, online: bool) -> dict[str, Any]:
    """A user came online or went offline: of no one chat, for whoever watches."""
    return {"type": "event", "event": PRESENCE, "data": {"user_id": str(user_id), "online": online}}


@dataclass(frozen=True)
class Outgoing:
    """An event encoded once for every socket that gets it, with what a per-chat socket
    needs to decide about it without parsing the text again."""

    chat_id: str
    event: str
    text: str
    # member_removed: the users it removes (their per-chat sockets close).
    removed: frozenset[str] = frozenset()

    @cached_property
    def frame(self) -> TextFrame:
        """The WebSocket frame, the same bytes for every socket."""
        return TextFrame.of(self.text)


@dataclass(frozen=True)
class Delivery:
    user_ids: tuple[UUID, ...]
    frame: dict[str, Any]

    def outgoing(self) -> Outgoing:
        event = self.frame["event"]
        removed = self.frame["data"].get("user_ids", ()) if event == "member_removed" else ()
        return Outgoing(
            chat_id=self.frame.get("chat_id", ""),
            event=event,
            text=json.dumps(self.frame, separators=(",", ":"), default=str),
            removed=frozenset(removed),
        )
