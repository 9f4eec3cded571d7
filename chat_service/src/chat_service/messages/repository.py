"""SQL for messages and read positions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.chats import repository as chat_rows
from chat_service.models import Member, Message, OutboxEvent, Reaction
from shared.db import utcnow

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


# A batch's writes in one round trip: data-modifying CTEs, each table's rows passed as
# column arrays (one statement text, and one prepared statement, for any batch size).
_WRITE_SENDS = text(
    """
WITH new_messages AS (
    INSERT INTO messages
        (id, chat_id, seq, sender_id, client_message_id, text, created_at, reply_to_seq,
         deleted)
    SELECT m.*, false FROM unnest(
        CAST(:m_id AS uuid[]), CAST(:m_chat AS uuid[]), CAST(:m_seq AS bigint[]),
        CAST(:m_sender AS uuid[]), CAST(:m_key AS text[]), CAST(:m_text AS text[]),
        CAST(:m_at AS timestamptz[]), CAST(:m_reply AS bigint[])
    ) AS m
), new_events AS (
    INSERT INTO outbox (event_id, topic, key, payload, correlation_id, created_at)
    SELECT * FROM unnest(
        CAST(:o_event AS uuid[]), CAST(:o_topic AS text[]), CAST(:o_key AS text[]),
        CAST(:o_payload AS text[]), CAST(:o_correlation AS text[]),
        CAST(:o_at AS timestamptz[])
    )
), advanced AS (
    UPDATE chats SET last_seq = c.seq, updated_at = c.at
    FROM unnest(CAST(:c_id AS uuid[]), CAST(:c_seq AS bigint[]), CAST(:c_at AS timestamptz[]))
        AS c(id, seq, at)
    WHERE chats.id = c.id
)
UPDATE chat_members SET last_read_seq = s.seq, display_name = s.name
FROM unnest(
    CAST(:s_chat AS uuid[]), CAST(:s_user AS uuid[]), CAST(:s_seq AS bigint[]),
    CAST(:s_name AS text[])
) AS s(chat_id, user_id, seq, name)
WHERE chat_members.chat_id = s.chat_id AND chat_members.user_id = s.user_id
"""
)


async def write_sends(
    session: AsyncSession,
    *,
    messages: Sequence[dict[str, Any]],
    outbox: Sequence[dict[str, Any]],
    chats: dict[UUID, tuple[int, datetime]],
    senders: Sequence[tuple[UUID, UUID, int, str]],
) -> None:
    """A batch's writes: the new messages, their outbox rows, each chat's newest seq and
    last activity (``{chat_id: (last_seq, at)}``), the senders' read positions and display
    names (``(chat_id, user_id, seq, name)``). One statement on PostgreSQL."""
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(Message), list(messages))
        await session.execute(insert(OutboxEvent), list(outbox))
        await chat_rows.advance_chats(session, chats)
        await chat_rows.update_senders(session, senders)
        return
    params = {
        **_columns("m", messages, _MESSAGE_COLUMNS),
        **_columns("o", outbox, _OUTBOX_COLUMNS),
        "c_id": list(chats),
        "c_seq": [seq for seq, _ in chats.values()],
        "c_at": [at for _, at in chats.values()],
        "s_chat": [chat_id for chat_id, _, _, _ in senders],
        "s_user": [user_id for _, user_id, _, _ in senders],
        "s_seq": [seq for _, _, seq, _ in senders],
        "s_name": [name for _, _, _, name in senders],
    }
    await session.execute(_WRITE_SENDS, params)


_MESSAGE_COLUMNS = {
    "id": "id",
    "chat": "chat_id",
    "seq": "seq",
    "sender": "sender_id",
    "key": "client_message_id",
    "text": "text",
    "at": "created_at",
    "reply": "reply_to_seq",
}
_OUTBOX_COLUMNS = {
    "event": "event_id",
    "topic": "topic",
    "key": "key",
    "payload": "payload",
    "correlation": "correlation_id",
    "at": "created_at",
}


def _columns(
    prefix: str, rows: Sequence[dict[str, Any]], names: dict[str, str]
) -> dict[str, list[Any]]:
    """Rows as the statement's column arrays: ``{prefix_param: [row[column], ...]}``."""
    return {f"{prefix}_{param}": [row[column] for row in rows] for param, column in names.items()}


async def page(
    session: AsyncSession,
    chat_id: UUID,
    *,
    before_seq: int | None,
    after_seq: int | None,
    limit: int,
    containing: str | None = None,
) -> tuple[list[Message], bool]:
    """Messages in seq order. With only ``after_seq`` the page starts right after it
    (catch-up); otherwise it ends right before ``before_seq`` or at the newest.
    ``containing`` keeps those whose text has it, in any case (wildcards are literal);
    the chat's messages are read newest first until the page is full."""
    statement = select(Message).where(Message.chat_id == chat_id)
    if containing is not None:
        statement = statement.where(Message.text.icontains(containing, autoescape=True))
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


async def add_reaction(session: AsyncSession, message_id: UUID, user_id: UUID, emoji: str) -> bool:
    """False if the member had reacted so already (a retry, or two at once)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Reaction)
        .values(message_id=message_id, user_id=user_id, emoji=emoji, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(Reaction.emoji)
    )
    return (await session.execute(statement)).first() is not None


async def remove_reaction(
    session: AsyncSession, message_id: UUID, user_id: UUID, emoji: str
) -> bool:
    statement = (
        delete(Reaction)
        .where(
            Reaction.message_id == message_id, Reaction.user_id == user_id, Reaction.emoji == emoji
        )
        .returning(Reaction.emoji)
    )
    return (await session.execute(statement)).first() is not None


async def reactions_of_user(session: AsyncSession, message_id: UUID, user_id: UUID) -> set[str]:
    rows = await session.scalars(
        select(Reaction.emoji).where(Reaction.message_id == message_id, Reaction.user_id == user_id)
    )
    return set(rows.all())


async def reactions(
    session: AsyncSession, message_ids: Sequence[UUID]
) -> dict[UUID, dict[str, list[UUID]]]:
    """Per message, each emoji and who reacted so (in the order they did)."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(Reaction.message_id, Reaction.emoji, Reaction.user_id)
        .where(Reaction.message_id.in_(message_ids))
        .order_by(Reaction.created_at, Reaction.emoji, Reaction.user_id)
    )
    found: dict[UUID, dict[str, list[UUID]]] = {}
    for message_id, emoji, user_id in rows:
        found.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
    return found


async def drop_reactions(session: AsyncSession, message_ids: Sequence[UUID]) -> None:
    await session.execute(delete(Reaction).where(Reaction.message_id.in_(message_ids)))


async def pinned(session: AsyncSession, chat_id: UUID, limit: int) -> list[Message]:
    """The chat's pinned messages, newest pin first."""
    statement = (
        select(Message)
        .where(Message.chat_id == chat_id, Message.pinned_at.is_not(None))
        .order_by(Message.pinned_at.desc(), Message.seq.desc())
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def pin_if_room(
    session: AsyncSession, message: Message, user_id: UUID, *, limit: int
) -> bool:
    """Pins the message if it is live, not pinned yet and its chat has fewer than
    ``limit`` pins: one statement, so that SQLite (which locks no rows) checks and writes
    at once too. False if not; the message is read again either way."""
    pins = (
        select(func.count())
        .where(Message.chat_id == message.chat_id, Message.pinned_at.is_not(None))
        .scalar_subquery()
    )
    statement = (
        update(Message)
        .where(
            Message.id == message.id,
            Message.deleted.is_(False),
            Message.pinned_at.is_(None),
            pins < limit,
        )
        .values(pinned_at=utcnow(), pinned_by=user_id)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    await session.refresh(message)
    return int(getattr(result, "rowcount", 0) or 0) == 1
