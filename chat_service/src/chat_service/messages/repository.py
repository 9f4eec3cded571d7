"""SQL for messages and read positions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.models import Member, Message, OutboxEvent

MessageKey = tuple[UUID, UUID, str]  # chat, sender, client_message_id


async def by_client_message_ids(
    session: AsyncSession, keys: Sequence[MessageKey]
) -> dict[MessageKey, Message]:
    """The messages already sent under any of ``keys``, in one statement."""
    if not keys:
        return {}
    statement = select(Message).where(
        or_(
            *(
                and_(
                    Message.chat_id == chat_id,
                    Message.sender_id == sender_id,
                    Message.client_message_id == client_message_id,
                )
                for chat_id, sender_id, client_message_id in dict.fromkeys(keys)
            )
        )
    )
    return {
        (m.chat_id, m.sender_id, m.client_message_id): m
        for m in (await session.scalars(statement)).all()
    }


async def insert_messages(
    session: AsyncSession, messages: Sequence[dict[str, Any]], outbox: Sequence[dict[str, Any]]
) -> None:
    """New messages and the outbox rows announcing them, one statement each."""
    await session.execute(insert(Message), list(messages))
    if outbox:
        await session.execute(insert(OutboxEvent), list(outbox))


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
