"""SQL for chats and members."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Row, and_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.models import Chat, Member, Message
from chat_service.sql import insert_on_conflict
from shared.db import utcnow


async def get_chat(session: AsyncSession, chat_id: UUID, *, lock: bool = False) -> Chat | None:
    """``lock`` takes the chat row's lock: seq allocation and membership changes of one
    chat run one at a time, so seq stays gap-free."""
    query = select(Chat).where(Chat.id == chat_id)
    if lock:
        # Refreshed: a row this session read before the lock may have changed since.
        query = query.with_for_update().execution_options(populate_existing=True)
    chat: Chat | None = (await session.scalars(query)).one_or_none()
    return chat


# Built once: every batch of sends runs them (building a statement costs as much as
# running it through the cache).
_LOCK_CHATS = (
    select(Chat.id, Chat.name, Chat.last_seq)
    .where(Chat.id.in_(bindparam("chat_ids", expanding=True)))
    .order_by(Chat.id)
    .with_for_update()
)
_READ_POSITIONS = (
    select(
        Member.chat_id,
        Member.user_id,
        Member.last_read_seq,
        Member.display_name,
        Member.muted_until,
    )
    .where(Member.chat_id.in_(bindparam("chat_ids", expanding=True)))
    .order_by(Member.chat_id, Member.joined_at, Member.user_id)
)


async def lock_chats(
    session: AsyncSession, chat_ids: Sequence[UUID]
) -> Sequence[Row[UUID, str, int]]:
    """Locks several chats' rows (id, name, last_seq), always in id order, so that two
    transactions locking overlapping sets cannot deadlock."""
    return (await session.execute(_LOCK_CHATS, {"chat_ids": list(chat_ids)})).all()


async def advance_chats(session: AsyncSession, chats: dict[UUID, tuple[int, datetime]]) -> None:
    """Sets each chat's newest seq and last activity (``{chat_id: (last_seq, at)}``)."""
    if not chats:
        return
    # Bulk UPDATE by primary key: one statement, executed for every row at once.
    await session.execute(
        update(Chat),
        [{"id": i, "last_seq": seq, "updated_at": at} for i, (seq, at) in chats.items()],
    )


async def get_member(session: AsyncSession, chat_id: UUID, user_id: UUID) -> Member | None:
    return await session.get(Member, (chat_id, user_id))


async def members_of(session: AsyncSession, chat_id: UUID) -> list[Member]:
    query = (
        select(Member).where(Member.chat_id == chat_id).order_by(Member.joined_at, Member.user_id)
    )
    return list((await session.scalars(query)).all())


async def co_members(session: AsyncSession, user_id: UUID) -> list[UUID]:
    """Everyone who shares a chat with the user."""
    theirs = select(Member.chat_id).where(Member.user_id == user_id)
    statement = (
        select(Member.user_id)
        .where(Member.chat_id.in_(theirs), Member.user_id != user_id)
        .distinct()
    )
    return list((await session.scalars(statement)).all())


async def read_positions(
    session: AsyncSession, chat_ids: Sequence[UUID]
) -> Sequence[Row[UUID, UUID, int, str, datetime | None]]:
    """Every member of the chats (chat_id, user_id, last_read_seq, display_name,
    muted_until), in joining order."""
    return (await session.execute(_READ_POSITIONS, {"chat_ids": list(chat_ids)})).all()


async def update_senders(
    session: AsyncSession, senders: Sequence[tuple[UUID, UUID, int, str]]
) -> None:
    """Sets members' read positions and display names: (chat_id, user_id, seq, name)."""
    if not senders:
        return
    await session.execute(
        update(Member),
        [
            {"chat_id": c, "user_id": u, "last_read_seq": seq, "display_name": name}
            for c, u, seq, name in senders
        ],
    )


async def insert_members(
    session: AsyncSession,
    chat_id: UUID,
    user_ids: Sequence[UUID],
    *,
    role: str,
    last_read_seq: int,
    display_names: dict[UUID, str] | None = None,
) -> list[UUID]:
    """Adds those not yet members; returns who was added."""
    if not user_ids:
        return []
    now = utcnow()
    names = display_names or {}
    rows = [
        {
            "chat_id": chat_id,
            "user_id": user_id,
            "role": role,
            "display_name": names.get(user_id, ""),
            "last_read_seq": last_read_seq,
            "joined_at": now,
        }
        for user_id in user_ids
    ]
    statement = (
        insert_on_conflict(session, Member)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["chat_id", "user_id"])
        .returning(Member.user_id)
    )
    added = set((await session.scalars(statement)).all())
    return [user_id for user_id in user_ids if user_id in added]


async def delete_members(session: AsyncSession, chat_id: UUID, user_ids: Sequence[UUID]) -> None:
    await session.execute(
        delete(Member).where(Member.chat_id == chat_id, Member.user_id.in_(user_ids))
    )


async def hand_over(session: AsyncSession, chat_id: UUID, owner: UUID, heir: UUID) -> bool:
    """Makes ``heir`` the owner if ``owner`` still is; False if not."""
    statement = update(Chat).where(Chat.id == chat_id, Chat.owner_id == owner).values(owner_id=heir)
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def delete_chat(session: AsyncSession, chat_id: UUID) -> None:
    # Members, messages and invites go with it (ON DELETE CASCADE).
    await session.execute(delete(Chat).where(Chat.id == chat_id))


async def chats_of_user(
    session: AsyncSession, user_id: UUID, *, query: str | None, limit: int, offset: int
) -> list[tuple[Chat, Member]]:
    """The user's chats, most recently active first, optionally filtered by name."""
    statement = (
        select(Chat, Member)
        .join(Member, and_(Member.chat_id == Chat.id, Member.user_id == user_id))
        .order_by(Chat.updated_at.desc(), Chat.id)
        .limit(limit)
        .offset(offset)
    )
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(func.lower(Chat.name).like(f"%{escaped.lower()}%", escape="\\"))
    return [(chat, member) for chat, member in (await session.execute(statement)).all()]


async def member_counts(session: AsyncSession, chat_ids: Sequence[UUID]) -> dict[UUID, int]:
    statement = (
        select(Member.chat_id, func.count())
        .where(Member.chat_id.in_(chat_ids))
        .group_by(Member.chat_id)
    )
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}


async def read_floors(session: AsyncSession, chat_ids: Sequence[UUID]) -> dict[UUID, int]:
    """Per chat, the seq every member has read up to."""
    statement = (
        select(Member.chat_id, func.min(Member.last_read_seq))
        .where(Member.chat_id.in_(chat_ids))
        .group_by(Member.chat_id)
    )
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}


async def last_messages(session: AsyncSession, chat_ids: Sequence[UUID]) -> dict[UUID, Message]:
    statement = (
        select(Message)
        .join(Chat, and_(Chat.id == Message.chat_id, Chat.last_seq == Message.seq))
        .where(Chat.id.in_(chat_ids))
    )
    return {message.chat_id: message for message in (await session.scalars(statement)).all()}


async def unread_counts(
    session: AsyncSession, user_id: UUID, chat_ids: Sequence[UUID]
) -> dict[UUID, int]:
    """Others' live messages after the user's read position, per chat, in one query."""
    statement = (
        select(Message.chat_id, func.count())
        .join(Member, and_(Member.chat_id == Message.chat_id, Member.user_id == user_id))
        .where(
            Message.chat_id.in_(chat_ids),
            Message.seq > Member.last_read_seq,
            Message.deleted.is_(False),
            Message.sender_id != user_id,
        )
        .group_by(Message.chat_id)
    )
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}
