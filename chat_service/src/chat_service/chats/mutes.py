"""A member mutes a chat: they get no notifications of its messages (the gateway reads
who is muted from each message's event) until the mute ends or they unmute it. Their
other sockets hear ``chat_muted``; nobody else learns of it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from chat_service.chats.access import member_chat
from chat_service.chats.schemas import ChatMute
from chat_service.context import Work
from chat_service.database import as_utc
from chat_service.models import MUTED_FOREVER
from shared.db import utcnow


def mute_of(chat_id: UUID, muted_until: datetime | None, now: datetime) -> ChatMute:
    """What a member's stored mute means at ``now``."""
    until = None if muted_until is None else as_utc(muted_until)
    muted = until is not None and until > now
    shown = until if muted and until != MUTED_FOREVER else None
    return ChatMute(chat_id=chat_id, muted=muted, muted_until=shown)


async def set_mute(work: Work, chat_id: UUID, until: datetime | None, *, muted: bool) -> ChatMute:
    """Mute until ``until`` (None: until unmuted), or unmute."""
    _, me = await member_chat(work, chat_id)
    me.muted_until = (until or MUTED_FOREVER) if muted else None
    await work.session.flush()
    result = mute_of(chat_id, me.muted_until, utcnow())
    data = result.model_dump(mode="json", exclude={"chat_id"})
    work.push("chat_muted", chat_id=chat_id, audience=[me.user_id], data=data)
    return result
