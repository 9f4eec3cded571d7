"""Who acts, and the unit of work every REST request and WebSocket action runs in.

A :class:`Work` is one transaction plus what must happen after it commits: outbox rows
are written inside it (so Kafka sees exactly what was committed), socket frames are
collected and delivered only once the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.models import OutboxEvent
from chat_service.realtime.frames import Delivery, event_frame
from chat_service.users import UserDirectory
from shared.auth.tokens import TokenClaims
from shared.events.envelope import EventEnvelope
from shared.events.outbox import outbox_values
from shared.events.topics import CHAT_EVENTS


@dataclass(frozen=True)
class Actor:
    user_id: UUID
    display_name: str = ""
    is_superuser: bool = False
    # The access token the actor came with, to ask auth_service on their behalf.
    token: str = field(default="", repr=False, compare=False)
    # The login session of that token: when auth_service ends it, its sockets close.
    session_id: UUID | None = field(default=None, compare=False)

    @classmethod
    def from_claims(cls, claims: TokenClaims, token: str) -> Actor:
        return cls(
            user_id=claims.user_id,
            display_name=claims.display_name or claims.email,
            is_superuser=claims.is_superuser,
            token=token,
            session_id=claims.session_id,
        )


def chat_event(
    event_type: str, *, chat_id: UUID, actor_id: UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """The outbox row of ``chat.<event_type>`` on chat.events, keyed by the chat."""
    envelope = EventEnvelope(type=f"chat.{event_type}", actor_id=actor_id, data=data)
    return outbox_values(envelope, topic=CHAT_EVENTS, key=chat_id)


@dataclass
class Work:
    session: AsyncSession
    actor: Actor
    users: UserDirectory
    deliveries: list[Delivery] = field(default_factory=list)
    events_recorded: int = 0

    def record(self, event_type: str, *, chat_id: UUID, data: dict[str, Any]) -> None:
        """Stage ``chat.<event_type>`` on chat.events, keyed by the chat, in this transaction."""
        row = chat_event(event_type, chat_id=chat_id, actor_id=self.actor.user_id, data=data)
        self.session.add(OutboxEvent(**row))
        self.events_recorded += 1

    async def user_names(self, user_ids: Sequence[UUID]) -> dict[UUID, str]:
        """Display names of users to add; raises UserNotFound for any that is none."""
        return await self.users.display_names(self.actor.token, user_ids)

    def push(
        self, event: str, *, chat_id: UUID, audience: Iterable[UUID], data: dict[str, Any]
    ) -> None:
        """Queue a socket event for ``audience``; sent after the commit."""
        self.deliveries.append(
            Delivery(
                user_ids=tuple(dict.fromkeys(audience)), frame=event_frame(event, chat_id, data)
            )
        )
