"""Messages: send (idempotent, gap-free seq), page, edit, delete, read marks, typing."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

from chat_service.chats import repository as chats
from chat_service.chats.access import member_chat, visible_chat
from chat_service.chats.service import touch_display_name
from chat_service.context import Work
from chat_service.errors import MessageDeleted, MessageNotFound, NotMessageSender
from chat_service.messages import repository
from chat_service.messages.schemas import (
    PAGE_MAX,
    MessageCreate,
    MessagePage,
    MessageRead,
    ReadState,
    SendResult,
)
from chat_service.metrics import MESSAGES_SENT
from chat_service.models import Message
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)


async def send_message(work: Work, chat_id: UUID, data: MessageCreate) -> SendResult:
    """Sends once per (chat, sender, client_message_id): a retry or a concurrent
    duplicate gets the original. The seq comes from the chat row, locked until commit."""
    session, actor = work.session, work.actor
    client_message_id = data.client_message_id
    if client_message_id is None:
        # A fresh id cannot have been sent before: no lookup on this, the common path.
        client_message_id = uuid4().hex
    else:
        existing = await repository.by_client_message_id(
            session, chat_id=chat_id, sender_id=actor.user_id, client_message_id=client_message_id
        )
        if existing is not None:
            await member_chat(work, chat_id)
            return await _original(work, chat_id, existing)
    chat, member = await member_chat(work, chat_id, lock=True)
    now = utcnow()
    message = await repository.insert_message(
        session,
        chat_id=chat_id,
        seq=chat.last_seq + 1,
        sender_id=actor.user_id,
        client_message_id=client_message_id,
        text=data.text,
        created_at=now,
    )
    if message is None:
        # Committed by a concurrent twin while we waited for the chat lock.
        original = await repository.by_client_message_id(
            session, chat_id=chat_id, sender_id=actor.user_id, client_message_id=client_message_id
        )
        assert original is not None
        return await _original(work, chat_id, original)
    chat.last_seq = message.seq
    chat.updated_at = now
    # Sending implies having read the chat up to one's own message.
    member.last_read_seq = message.seq
    touch_display_name(member, actor.display_name)
    await session.flush()
    members = await chats.members_of(session, chat_id)
    member_ids = [m.user_id for m in members]
    result = MessageRead.of(message, read_seq=min(m.last_read_seq for m in members))
    work.record(
        "message_created",
        chat_id=chat_id,
        data={
            "chat_id": str(chat_id),
            "chat_name": chat.name,
            "message_id": str(message.id),
            "seq": message.seq,
            "sender_id": str(actor.user_id),
            "sender_name": actor.display_name,
            "text": message.text,
            "member_ids": [str(u) for u in member_ids],
        },
    )
    MESSAGES_SENT.inc()
    log.info("message.sent", chat_id=str(chat_id), seq=message.seq)
    work.push(
        "message_created",
        chat_id=chat_id,
        audience=member_ids,
        data=result.model_dump(mode="json"),
    )
    return SendResult(message=result, duplicate=False)


async def _original(work: Work, chat_id: UUID, message: Message) -> SendResult:
    floor = await repository.read_floor(work.session, chat_id)
    return SendResult(message=MessageRead.of(message, read_seq=floor), duplicate=True)


async def get_messages(
    work: Work,
    chat_id: UUID,
    *,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = 50,
) -> MessagePage:
    chat, _ = await visible_chat(work, chat_id)
    limit = max(1, min(limit, PAGE_MAX))
    rows, has_more = await repository.page(
        work.session, chat_id, before_seq=before_seq, after_seq=after_seq, limit=limit
    )
    floor = await repository.read_floor(work.session, chat_id)
    return MessagePage(
        items=[MessageRead.of(m, read_seq=floor) for m in rows],
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
    members = await chats.members_of(work.session, chat_id)
    result = MessageRead.of(message, read_seq=min(m.last_read_seq for m in members))
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
    for message in fresh:
        message.deleted = True
        message.text = ""
    await work.session.flush()
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
