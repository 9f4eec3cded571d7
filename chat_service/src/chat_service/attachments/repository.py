"""SQL for attachments. Their bytes are read only to be downloaded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.models import Attachment, Message


async def get(session: AsyncSession, attachment_id: UUID) -> Attachment | None:
    return await session.get(Attachment, attachment_id)


async def data_of(session: AsyncSession, attachment_id: UUID) -> bytes:
    data = await session.scalar(select(Attachment.data).where(Attachment.id == attachment_id))
    return data or b""


async def unsent_of(
    session: AsyncSession, uploader_id: UUID, *, uploaded_since: datetime
) -> tuple[int, datetime | None]:
    """How many of the user's uploads since then no message carries yet, and the oldest's
    time (older ones are about to be purged)."""
    row = (
        await session.execute(
            select(func.count(), func.min(Attachment.created_at)).where(
                Attachment.uploader_id == uploader_id,
                Attachment.message_id.is_(None),
                Attachment.created_at >= uploaded_since,
            )
        )
    ).one()
    return int(row[0]), row[1]


async def purge_unsent(session: AsyncSession, *, uploaded_before: datetime) -> int:
    result = await session.execute(
        delete(Attachment).where(
            Attachment.message_id.is_(None), Attachment.created_at < uploaded_before
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def lock_for_sending(
    session: AsyncSession, attachment_ids: Sequence[UUID]
) -> dict[UUID, Attachment]:
    """The uploads named, locked: two messages cannot both carry one."""
    # In one order, whatever the order named: two batches cannot wait on each other.
    statement = (
        select(Attachment)
        .where(Attachment.id.in_(set(attachment_ids)))
        .order_by(Attachment.id)
        .with_for_update()
    )
    return {a.id: a for a in (await session.scalars(statement)).all()}


async def attach(session: AsyncSession, carried: dict[UUID, list[dict[str, Any]]]) -> None:
    """Each message (id) carries the attachments summarised: both sides are written."""
    for message_id, summaries in carried.items():
        await session.execute(
            update(Attachment)
            .where(Attachment.id.in_([UUID(s["id"]) for s in summaries]))
            .values(message_id=message_id)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(attachments=summaries)
            .execution_options(synchronize_session=False)
        )


async def drop_of_messages(session: AsyncSession, message_ids: Sequence[UUID]) -> None:
    await session.execute(delete(Attachment).where(Attachment.message_id.in_(message_ids)))
