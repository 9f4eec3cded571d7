"""A notification on its way to sockets, and its two frame encodings.

Each frame is encoded once per instance, down to the WebSocket frame's bytes, and the
same bytes are written to every socket that gets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from sqlalchemy import Row

from notify_ws_service.database import as_utc
from notify_ws_service.models import Notification
from shared.ws.wire import TextFrame


@dataclass(frozen=True)
class Push:
    message_id: UUID
    user_id: UUID
    type: str
    created_at: datetime
    title: str
    body: str
    # The notification's place in its user's inbox (what sockets order by); not sent.
    position: int

    @classmethod
    def of(cls, row: Notification | Row[Any]) -> Push:
        """From a stored notification, or a row of its columns."""
        return cls(
            message_id=row.message_id,
            user_id=row.user_id,
            type=row.type,
            created_at=as_utc(row.created_at),
            title=row.title,
            body=row.body,
            position=row.position,
        )

    @cached_property
    def _seed_frame(self) -> TextFrame:
        """Exactly seed 004's frame."""
        return TextFrame.of(
            json.dumps({"title": self.title, "body": self.body}, ensure_ascii=False)
        )

    @cached_property
    def _envelope_frame(self) -> TextFrame:
        """``?v=2``: the seed's fields plus id, type and created_at."""
        return TextFrame.of(json.dumps(self._envelope(), ensure_ascii=False))

    def frame(self, version: int) -> TextFrame:
        return self._envelope_frame if version >= 2 else self._seed_frame

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": str(self.message_id),
            "type": self.type,
            # UTC as REST writes it (pydantic): ...Z, not ...+00:00.
            "created_at": self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "title": self.title,
            "body": self.body,
        }

    def encode(self) -> bytes:
        """For the Redis channel."""
        return json.dumps(
            {**self._envelope(), "user_id": str(self.user_id), "position": self.position}
        ).encode()

    @classmethod
    def decode(cls, data: bytes | str) -> Push:
        body = json.loads(data)
        return cls(
            message_id=UUID(body["id"]),
            user_id=UUID(body["user_id"]),
            type=body["type"],
            created_at=datetime.fromisoformat(body["created_at"]),
            title=body["title"],
            body=body["body"],
            position=int(body["position"]),
        )


def recovered_frame(*, complete: bool) -> str:
    return json.dumps({"type": "recovered", "complete": complete})
