"""SQL for messages and read positions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.models import Member, Message
from chat_service.sql import insert_on_conflict


async def insert_message(
    session: AsyncSession,
    *,
    chat_id: UUID,
    seq: int,
    sender_id: UUID,
    client_message_id: str,
    text: str,
    created_at: datetime,
) -> Message | None:
    """Inserts the message, or returns None when the sender already sent this
    client_message_id to this chat (the unique constraint decides, not a prior read)."""
    statement = (
        insert_on_conflict(session, Message)
        .values(
            id=uuid4(),
            chat_id=chat_id,
            seq=seq,
            sender_id=sender_id,
            client_message_id=client_message_id,
            text=text,
            created_at=created_at,
            deleted=False,
        )
        .on_conflict_do_nothing(index_elements=["chat_id", "sender_id", "client_message_id"])
        .returning(Message)
    )
    message: Message | None = (await session.scalars(statement)).one_or_none()
    return message


async def by_client_message_id(
    session: AsyncSession, *, chat_id: UUID, sender_id: UUID, client_message_id: str
) -> Message | None:
    statement = select(Message).where(
        Message.chat_id == chat_id,
        Message.sender_id == sender_id,
        Message.client_message_id == client_message_id,
    )
    message: Message | None = (await session.scalars(statement)).one_or_none()
    return message


async def page(
    session: AsyncSession,
    chat_id: UUID,
    *,
    before_seq: int | None,
    after_seq: int | None,
    limit: int,
) -> tuple[list[Message], bool]:
    """Messages in seq order. With only ``after_seq`` the page starts right after it
    (catch-up); otherwise it ends right before ``before_seq`` or at the newest."""
    statement = select(Message).where(Message.chat_id == chat_id)
    if after_seq is not None:
        statement = statement.where(Message.seq > after_seq)
    if before_seq is not None:
        statement = statement.where(Message.seq < before_seq)
    ascending = after_seq is not None and before_seq is None
    order = Message.seq.asc() if ascending else Message.seq.desc()
    rows = list((await session.scalars(statement.order_by(order).limit(limit + 1))).all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not ascending:
        rows.reverse()
    return rows, has_more


async def by_ids(
    session: AsyncSession,
    chat_id: UUID,
    *,
    message_ids: Sequence[UUID] = (),
    seqs: Sequence[int] = (),
    lock: bool = False,
) -> list[Message]:
    statement = select(Message).where(
        Message.chat_id == chat_id,
        or_(Message.id.in_(message_ids), Message.seq.in_(seqs)),
    )
    if lock:
        statement = statement.with_for_update()
    return list((await session.scalars(statement.order_by(Message.seq))).all())


async def read_floor(session: AsyncSession, chat_id: UUID) -> int:
    """The seq every member has read up to."""
    floor = await session.scalar(
        select(func.min(Member.last_read_seq)).where(Member.chat_id == chat_id)
    )
    return int(floor or 0)


async def advance_read(session: AsyncSession, chat_id: UUID, user_id: UUID, seq: int) -> int:
    """Moves the member's read position forward (never back); returns where it is."""
    statement = (
        update(Member)
        .where(Member.chat_id == chat_id, Member.user_id == user_id)
        .values(last_read_seq=case((Member.last_read_seq < seq, seq), else_=Member.last_read_seq))
        .returning(Member.last_read_seq)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(statement)).scalar_one())


async def unread_count(session: AsyncSession, chat_id: UUID, user_id: UUID, after: int) -> int:
    count = await session.scalar(
        select(func.count()).where(
            Message.chat_id == chat_id,
            Message.seq > after,
            Message.deleted.is_(False),
            Message.sender_id != user_id,
        )
    )
    return int(count or 0)
