"""What auth_service tells the suite on ``auth.events`` (keyed by user id)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import LoginSession, OutboxEvent, User
from shared.events.outbox import record_event
from shared.events.topics import AUTH_EVENTS

USER_REGISTERED = "user.registered"
USER_UPDATED = "user.updated"
# The account was deleted: it keeps its id and nothing else of its owner.
USER_DELETED = "user.deleted"
# A session was logged out or revoked: its access tokens are refused from now on by
# every service, not only by those that ask /verify.
SESSION_ENDED = "session.ended"

# Set on a database session whose transaction staged events: the relay is woken after
# the commit instead of at its next poll.
OUTBOX_PENDING = "outbox_pending"


def record_user_event(session: AsyncSession, event_type: str, user: User) -> None:
    """Stage the event in the session's transaction; it is published once that commits."""
    data: dict[str, Any] = {
        "user_id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
    }
    record_event(
        session,
        OutboxEvent,
        topic=AUTH_EVENTS,
        key=user.id,
        type=event_type,
        data=data,
        actor_id=user.id,
    )
    session.info[OUTBOX_PENDING] = True


def record_session_ended(session: AsyncSession, login: LoginSession) -> None:
    """Stage ``session.ended`` for a session just revoked, in the revoking transaction."""
    record_event(
        session,
        OutboxEvent,
        topic=AUTH_EVENTS,
        key=login.user_id,
        type=SESSION_ENDED,
        data={
            "session_id": str(login.id),
            "user_id": str(login.user_id),
            "reason": login.revoked_reason,
        },
        actor_id=login.user_id,
    )
    session.info[OUTBOX_PENDING] = True
