"""SQL about users."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import User


async def get(session: AsyncSession, user_id: UUID) -> User | None:
    return await session.get(User, user_id)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.scalars(select(User).where(User.email == email.lower()))
    return result.one_or_none()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession, *, query: str, ids: Sequence[UUID] = (), limit: int, offset: int
) -> tuple[list[User], int]:
    """Active users whose display name or email starts with ``query`` (any case), and
    who are one of ``ids`` when some are given."""
    pattern = _escape_like(query.lower()) + "%"
    conditions: list[ColumnElement[bool]] = [User.is_active.is_(True)]
    if ids:
        conditions.append(User.id.in_(ids))
    if query:
        conditions.append(
            or_(
                func.lower(User.display_name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    condition = and_(*conditions)
    total = await session.scalar(select(func.count()).select_from(User).where(condition))
    rows = await session.scalars(
        select(User)
        .where(condition)
        .order_by(func.lower(User.display_name), User.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)
