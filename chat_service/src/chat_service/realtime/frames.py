"""The shape of server-sent events, the same on ``/ws`` and ``/ws/chat/{chat_id}``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID


def event_frame(event: str, chat_id: UUID, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": event, "chat_id": str(chat_id), "data": data}


@dataclass(frozen=True)
class Delivery:
    user_ids: tuple[UUID, ...]
    frame: dict[str, Any]

    def encode(self) -> str:
        return json.dumps(self.frame, separators=(",", ":"), default=str)
