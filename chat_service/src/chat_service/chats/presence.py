"""Who of a user's people is online, and telling them when that changes."""

from __future__ import annotations

import asyncio
from uuid import UUID

from chat_service.chats import repository
from chat_service.chats.access import visible_chat
from chat_service.chats.schemas import ChatPresence
from chat_service.context import Work
from chat_service.realtime.frames import Delivery, presence_frame
from chat_service.state import ChatState
from shared.logging import get_logger

log = get_logger(__name__)

# Seconds a socket's presence change may take (Redis, the database) before it is given up.
PRESENCE_TIMEOUT = 2.0


async def socket_opened(state: ChatState, user_id: UUID) -> None:
    await _changed(state, user_id, online=True)


async def socket_closed(state: ChatState, user_id: UUID, *, tell: bool = True) -> None:
    """``tell``: False when the server is going away (its users come back elsewhere)."""
    await _changed(state, user_id, online=False, tell=tell)


async def _changed(state: ChatState, user_id: UUID, *, online: bool, tell: bool = True) -> None:
    # Presence is a courtesy: whatever fails or hangs here must not fail the socket.
    presence = state.presence
    try:
        async with presence.lock(user_id), asyncio.timeout(PRESENCE_TIMEOUT):
            changed = await (presence.connected if online else presence.disconnected)(user_id)
            if changed and tell:
                await _tell(state, user_id, online=online)
    except Exception as exc:
        log.warning("presence.failed", error=repr(exc), user_id=str(user_id))
    finally:
        presence.release(user_id)


async def went_offline(state: ChatState, user_ids: list[UUID]) -> None:
    """Users an instance that died had online, and no other instance had then. Each is
    looked at again under its lock: one back online meanwhile was told so already."""
    presence = state.presence
    for user_id in user_ids:
        try:
            async with presence.lock(user_id), asyncio.timeout(PRESENCE_TIMEOUT):
                if not await presence.online([user_id]):
                    await _tell(state, user_id, online=False)
        except Exception as exc:
            log.warning("presence.failed", error=repr(exc), user_id=str(user_id))
        finally:
            presence.release(user_id)


async def _tell(state: ChatState, user_id: UUID, *, online: bool) -> None:
    async with state.sessionmaker() as session:
        others = await repository.co_members(session, user_id)
    if others:
        frame = presence_frame(user_id, online=online)
        await state.hub.deliver([Delivery(user_ids=tuple(others), frame=frame)])


async def chat_presence(work: Work, state: ChatState, chat_id: UUID) -> ChatPresence:
    """The chat's members who are online (members and superusers may ask)."""
    await visible_chat(work, chat_id)
    members = [m.user_id for m in await repository.members_of(work.session, chat_id)]
    online = await state.presence.online(members)
    return ChatPresence(chat_id=chat_id, online=[u for u in members if u in online])


async def people_online(work: Work, state: ChatState) -> list[UUID]:
    """Everyone who shares a chat with the caller and is online."""
    others = await repository.co_members(work.session, work.actor.user_id)
    online = await state.presence.online(others)
    return sorted((u for u in others if u in online), key=str)
