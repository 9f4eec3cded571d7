"""Messages: send (idempotent, gap-free seq), page, edit, delete, read marks, typing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.chats import repository as chats
from chat_service.chats.access import member_chat, visible_chat
from chat_service.chats.service import touch_display_name
from chat_service.context import Actor, Work
from chat_service.errors import (
    ChatNotFound,
    MessageDeleted,
    MessageNotFound,
    NotChatMember,
    NotMessageSender,
)
from chat_service.group_commit import GroupCommit
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
from chat_service.models import Chat, Member, Message
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Send:
    """One message to store, validated, its sender known."""

    actor: Actor
    chat_id: UUID
    text: str
    client_message_id: str
    # The client named it, so it may have been sent before; a server-made id cannot
    # have been (unless its own batch failed in COMMIT and is being written again).
    keyed: bool

    @classmethod
    def of(cls, actor: Actor, chat_id: UUID, data: MessageCreate) -> Send:
        keyed = data.client_message_id is not None
        client_message_id = data.client_message_id if keyed else uuid4().hex
        assert client_message_id is not None
        return cls(actor, chat_id, data.text, client_message_id, keyed)

    @property
    def key(self) -> repository.MessageKey:
        return (self.chat_id, self.actor.user_id, self.client_message_id)


SendQueue = GroupCommit[Send, SendResult]


async def send_message(
    sends: SendQueue, actor: Actor, chat_id: UUID, data: MessageCreate
) -> SendResult:
    """Sends once per (chat, sender, client_message_id): a retry or a concurrent
    duplicate gets the original. The send shares its transaction with those that
    queued while the previous one committed (see :func:`store_messages`)."""
    return await sends.submit(Send.of(actor, chat_id, data))


async def store_messages(
    session: AsyncSession, sends: Sequence[Send], *, look_up_all: bool = False
) -> tuple[list[SendResult | Exception], list[Work]]:
    """Stores a batch of sends in the caller's transaction: each chat locked once (seqs
    come from its row, so they are gap-free and in commit order), one lookup for the
    client_message_ids, the messages and their outbox rows written together. A send
    whose client_message_id was seen (before, or earlier in this batch) gets the
    original. Each send gets its own result or its own error."""
    chat_ids = list(dict.fromkeys(s.chat_id for s in sends))
    chats_by_id = await chats.lock_chats(session, chat_ids)
    members = await chats.members_of_chats(session, chat_ids)
    outcomes: list[SendResult | Exception | None] = []  # None: allowed, not yet stored
    allowed: list[tuple[Send, Member]] = []
    for send in sends:
        member = next((m for m in members[send.chat_id] if m.user_id == send.actor.user_id), None)
        if send.chat_id not in chats_by_id or (member is None and not send.actor.is_superuser):
            outcomes.append(ChatNotFound())
        elif member is None:
            outcomes.append(NotChatMember())
        else:
            outcomes.append(None)
            allowed.append((send, member))
    seen = await repository.by_client_message_ids(
        session, [s.key for s, _ in allowed if s.keyed or look_up_all]
    )
    works: list[Work] = []
    results = iter(_send_each(session, allowed, chats_by_id, members, seen, works))
    await session.flush()
    return [next(results) if o is None else o for o in outcomes], works


def _send_each(
    session: AsyncSession,
    allowed: list[tuple[Send, Member]],
    chats_by_id: dict[UUID, Chat],
    members: dict[UUID, list[Member]],
    seen: dict[repository.MessageKey, Message],
    works: list[Work],
) -> list[SendResult]:
    """One send after the other, as if each had its own transaction."""
    results = []
    now = utcnow()
    for send, member in allowed:
        chat, everyone = chats_by_id[send.chat_id], members[send.chat_id]
        original = seen.get(send.key)
        if original is not None:
            floor = min(m.last_read_seq for m in everyone)
            results.append(
                SendResult(message=MessageRead.of(original, read_seq=floor), duplicate=True)
            )
            continue
        chat.last_seq += 1
        chat.updated_at = now
        message = seen[send.key] = Message(
            id=uuid4(),
            chat_id=chat.id,
            seq=chat.last_seq,
            sender_id=send.actor.user_id,
            client_message_id=send.client_message_id,
            text=send.text,
            created_at=now,
            edited_at=None,
            deleted=False,
        )
        session.add(message)
        # Sending implies having read the chat up to one's own message.
        member.last_read_seq = message.seq
        touch_display_name(member, send.actor.display_name)
        result = MessageRead.of(message, read_seq=min(m.last_read_seq for m in everyone))
        work = Work(session=session, actor=send.actor)
        _announce(work, chat, message, everyone, result)
        works.append(work)
        results.append(SendResult(message=result, duplicate=False))
    return results


def _announce(
    work: Work, chat: Chat, message: Message, members: list[Member], result: MessageRead
) -> None:
    member_ids = [m.user_id for m in members]
    work.record(
        "message_created",
        chat_id=chat.id,
        data={
            "chat_id": str(chat.id),
            "chat_name": chat.name,
            "message_id": str(message.id),
            "seq": message.seq,
            "sender_id": str(work.actor.user_id),
            "sender_name": work.actor.display_name,
            "text": message.text,
            "member_ids": [str(u) for u in member_ids],
        },
    )
    MESSAGES_SENT.inc()
    log.info("message.sent", chat_id=str(chat.id), seq=message.seq)
    work.push(
        "message_created",
        chat_id=chat.id,
        audience=member_ids,
        data=result.model_dump(mode="json"),
    )


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
