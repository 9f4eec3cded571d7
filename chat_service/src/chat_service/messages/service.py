"""Messages: send (idempotent, gap-free seq), page, edit, delete, reactions, read marks,
typing."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from uuid import UUID

from chat_service.attachments import repository as attachments
from chat_service.chats import repository as chats
from chat_service.chats.access import member_chat, visible_chat
from chat_service.context import Actor, Work
from chat_service.errors import (
    MessageDeleted,
    MessageNotFound,
    NotMessageSender,
    TooManyReactions,
)
from chat_service.group_commit import GroupCommit
from chat_service.messages import repository
from chat_service.messages.schemas import (
    PAGE_MAX,
    REACTIONS_PER_USER,
    MessageCreate,
    MessagePage,
    MessageReactions,
    MessageRead,
    ReactionCount,
    ReadState,
    SendResult,
)
from chat_service.messages.sending import Send
from chat_service.models import Member, Message
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)


SendQueue = GroupCommit[Send, SendResult]


async def send_message(
    sends: SendQueue, actor: Actor, chat_id: UUID, data: MessageCreate
) -> SendResult:
    """Sends once per (chat, sender, client_message_id): a retry or a concurrent
    duplicate gets the original. The send shares its transaction with those that
    queued while the previous one committed (see :mod:`chat_service.messages.sending`)."""
    return await sends.submit(Send.of(actor, chat_id, data))


async def get_messages(
    work: Work,
    chat_id: UUID,
    *,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = 50,
    containing: str | None = None,
) -> MessagePage:
    chat, _ = await visible_chat(work, chat_id)
    limit = max(1, min(limit, PAGE_MAX))
    rows, has_more = await repository.page(
        work.session,
        chat_id,
        before_seq=before_seq,
        after_seq=after_seq,
        limit=limit,
        containing=containing,
    )
    floor = await repository.read_floor(work.session, chat_id)
    reacted = await reaction_counts(work, [m.id for m in rows])
    return MessagePage(
        items=[MessageRead.of(m, read_seq=floor, reactions=reacted.get(m.id, ())) for m in rows],
        has_more=has_more,
        last_seq=chat.last_seq,
        read_seq=floor,
    )


async def edit_message(work: Work, chat_id: UUID, message_id: UUID, text: str) -> MessageRead:
    await member_chat(work, chat_id)
    found = await repository.by_ids(work.session, chat_id, message_ids=[message_id], lock=True)
    if not found:
        raise MessageNotFound()
    message = found[0]
    if message.sender_id != work.actor.user_id:
        raise NotMessageSender()
    if message.deleted:
        raise MessageDeleted()
    message.text = text
    message.edited_at = utcnow()
    await work.session.flush()
    result, members = await as_read_by_members(work, message)
    work.record(
        "message_edited",
        chat_id=chat_id,
        data={
            "chat_id": str(chat_id),
            "message_id": str(message.id),
            "seq": message.seq,
            "sender_id": str(message.sender_id),
            "text": text,
            "member_ids": [str(m.user_id) for m in members],
        },
    )
    work.push(
        "message_edited",
        chat_id=chat_id,
        audience=[m.user_id for m in members],
        data=result.model_dump(mode="json"),
    )
    return result


async def delete_messages(
    work: Work,
    chat_id: UUID,
    *,
    message_ids: Sequence[UUID] = (),
    seqs: Sequence[int] = (),
) -> list[MessageRead]:
    """All or nothing: every message must exist and be the caller's."""
    await member_chat(work, chat_id)
    found = await repository.by_ids(
        work.session, chat_id, message_ids=message_ids, seqs=seqs, lock=True
    )
    wanted = len(set(message_ids)) + len(set(seqs))
    matched = {m.id for m in found if m.id in set(message_ids)} | {
        m.seq for m in found if m.seq in set(seqs)
    }
    if not found or len(matched) < wanted:
        raise MessageNotFound()
    if any(m.sender_id != work.actor.user_id for m in found):
        raise NotMessageSender()
    fresh = [m for m in found if not m.deleted]
    carrying = [m.id for m in fresh if m.attachments]
    for message in fresh:
        message.deleted = True
        message.text = ""
        message.attachments = None
        message.pinned_at = message.pinned_by = None
    await work.session.flush()
    if carrying:
        await attachments.drop_of_messages(work.session, carrying)
    if fresh:
        await repository.drop_reactions(work.session, [m.id for m in fresh])
    members = await chats.members_of(work.session, chat_id)
    floor = min(m.last_read_seq for m in members)
    if fresh:
        work.record(
            "message_deleted",
            chat_id=chat_id,
            data={
                "chat_id": str(chat_id),
                "message_ids": [str(m.id) for m in fresh],
                "seqs": [m.seq for m in fresh],
                "member_ids": [str(m.user_id) for m in members],
            },
        )
        work.push(
            "message_deleted",
            chat_id=chat_id,
            audience=[m.user_id for m in members],
            data={"message_ids": [str(m.id) for m in fresh], "seqs": [m.seq for m in fresh]},
        )
    return [MessageRead.of(m, read_seq=floor) for m in found]


async def react(
    work: Work, chat_id: UUID, message_id: UUID, emoji: str, *, add: bool
) -> MessageReactions:
    """Adds (or takes back) the caller's reaction; doing it twice changes nothing and
    tells nobody."""
    await member_chat(work, chat_id)
    # Locked: reactions to one message take turns, with each other and with its deletion
    # (each then counts and reports what the one before it committed).
    found = await repository.by_ids(work.session, chat_id, message_ids=[message_id], lock=True)
    if not found:
        raise MessageNotFound()
    message = found[0]
    if message.deleted:
        raise MessageDeleted()
    user_id = work.actor.user_id
    emoji = unicodedata.normalize("NFC", emoji)  # one spelling per key
    if add:
        mine = await repository.reactions_of_user(work.session, message.id, user_id)
        if emoji not in mine and len(mine) >= REACTIONS_PER_USER:
            raise TooManyReactions(REACTIONS_PER_USER)
        changed = await repository.add_reaction(work.session, message.id, user_id, emoji)
    else:
        changed = await repository.remove_reaction(work.session, message.id, user_id, emoji)
    reacted = await reaction_counts(work, [message.id])
    result = MessageReactions(message_id=message.id, reactions=reacted.get(message.id, []))
    if changed:
        event = "reaction_added" if add else "reaction_removed"
        members = await chats.members_of(work.session, chat_id)
        change = {"message_id": str(message.id), "seq": message.seq, "user_id": str(user_id)}
        work.record(
            event,
            chat_id=chat_id,
            data={
                "chat_id": str(chat_id),
                **change,
                "emoji": emoji,
                "member_ids": [str(m.user_id) for m in members],
            },
        )
        work.push(
            event,
            chat_id=chat_id,
            audience=[m.user_id for m in members],
            data={
                **change,
                "emoji": emoji,
                **result.model_dump(mode="json", include={"reactions"}),
            },
        )
    return result


async def as_read_by_members(work: Work, message: Message) -> tuple[MessageRead, list[Member]]:
    """The message as members see it after a change, and the members to tell."""
    members = await chats.members_of(work.session, message.chat_id)
    reacted = await reaction_counts(work, [message.id])
    result = MessageRead.of(
        message,
        read_seq=min(m.last_read_seq for m in members),
        reactions=reacted.get(message.id, ()),
    )
    return result, members


async def reaction_counts(
    work: Work, message_ids: Sequence[UUID]
) -> dict[UUID, list[ReactionCount]]:
    found = await repository.reactions(work.session, message_ids)
    return {
        message_id: [
            ReactionCount(emoji=emoji, count=len(users), user_ids=users)
            for emoji, users in by_emoji.items()
        ]
        for message_id, by_emoji in found.items()
    }


async def read_messages(work: Work, chat_id: UUID, seq: int) -> ReadState:
    """Moves the caller's read position up to ``seq`` (capped at the newest message)."""
    chat, member = await member_chat(work, chat_id)
    before = member.last_read_seq
    position = await repository.advance_read(
        work.session, chat_id, work.actor.user_id, min(seq, chat.last_seq)
    )
    floor = await repository.read_floor(work.session, chat_id)
    unread = await repository.unread_count(work.session, chat_id, work.actor.user_id, position)
    if position != before:
        members = await chats.members_of(work.session, chat_id)
        work.record(
            "read",
            chat_id=chat_id,
            data={
                "chat_id": str(chat_id),
                "user_id": str(work.actor.user_id),
                "last_read_seq": position,
                "read_seq": floor,
            },
        )
        work.push(
            "read",
            chat_id=chat_id,
            audience=[m.user_id for m in members],
            data={"user_id": str(work.actor.user_id), "last_read_seq": position, "read_seq": floor},
        )
    return ReadState(
        chat_id=chat_id,
        user_id=work.actor.user_id,
        last_read_seq=position,
        unread_count=unread,
        read_seq=floor,
    )


async def typing(work: Work, chat_id: UUID) -> None:
    """Ephemeral: other members' sockets hear it, nothing is stored or sent to Kafka."""
    await member_chat(work, chat_id)
    members = await chats.members_of(work.session, chat_id)
    work.push(
        "typing",
        chat_id=chat_id,
        audience=[m.user_id for m in members if m.user_id != work.actor.user_id],
        data={"user_id": str(work.actor.user_id), "display_name": work.actor.display_name},
    )


async def read_up_to(
    work: Work, chat_id: UUID, *, message_ids: Sequence[UUID] = (), seqs: Sequence[int] = ()
) -> ReadState:
    """Seed 000's "reading_messages" names messages; the read position moves to the
    newest of them."""
    await member_chat(work, chat_id)
    found = await repository.by_ids(work.session, chat_id, message_ids=message_ids, seqs=seqs)
    if not found:
        raise MessageNotFound()
    return await read_messages(work, chat_id, max(m.seq for m in found))
