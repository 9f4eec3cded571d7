"""Pinned messages: any member pins a message to the chat (at most PINS_MAX at a time)
or unpins it; every member hears it and chat.events records it. Pinning what is pinned,
or unpinning what is not, changes nothing and tells nobody. Deleting a message unpins it
(its ``message_deleted`` event says so)."""

from __future__ import annotations

from uuid import UUID

from chat_service.chats.access import member_chat, visible_chat
from chat_service.context import Work
from chat_service.errors import MessageDeleted, MessageNotFound, TooManyPins
from chat_service.messages import repository
from chat_service.messages.schemas import MessageRead, PinnedMessages
from chat_service.messages.service import as_read_by_members, reaction_counts

PINS_MAX = 50


async def pin(work: Work, chat_id: UUID, message_id: UUID, *, pinned: bool) -> MessageRead:
    # The chat is locked so that two pins at once cannot both take the last place.
    await member_chat(work, chat_id, lock=pinned)
    found = await repository.by_ids(work.session, chat_id, message_ids=[message_id], lock=True)
    if not found:
        raise MessageNotFound()
    message = found[0]
    if pinned and message.deleted:
        raise MessageDeleted()
    changed = pinned != (message.pinned_at is not None)
    if changed and pinned:
        if not await repository.pin_if_room(
            work.session, message, work.actor.user_id, limit=PINS_MAX
        ):
            # Deleted or pinned by someone else in between (SQLite), or no room.
            if message.deleted:
                raise MessageDeleted()
            if message.pinned_at is None:
                raise TooManyPins(PINS_MAX)
            changed = False
    elif changed:
        message.pinned_at = message.pinned_by = None
        await work.session.flush()
    result, members = await as_read_by_members(work, message)
    if changed:
        event = "message_pinned" if pinned else "message_unpinned"
        change = {
            "message_id": str(message.id),
            "seq": message.seq,
            "user_id": str(work.actor.user_id),
        }
        audience = [m.user_id for m in members]
        work.record(
            event,
            chat_id=chat_id,
            data={"chat_id": str(chat_id), **change, "member_ids": [str(u) for u in audience]},
        )
        work.push(event, chat_id=chat_id, audience=audience, data=change)
    return result


async def pinned_messages(work: Work, chat_id: UUID) -> PinnedMessages:
    await visible_chat(work, chat_id)
    rows = await repository.pinned(work.session, chat_id, PINS_MAX)
    floor = await repository.read_floor(work.session, chat_id)
    reacted = await reaction_counts(work, [m.id for m in rows])
    return PinnedMessages(
        chat_id=chat_id,
        items=[MessageRead.of(m, read_seq=floor, reactions=reacted.get(m.id, ())) for m in rows],
    )
