"""Profiles: update one's own, look others up."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import UserNotFound
from auth_service.events import USER_UPDATED, record_user_event
from auth_service.models import User
from auth_service.users import repository as users
from auth_service.users.schemas import UserUpdate


async def update_profile(session: AsyncSession, user: User, *, changes: UserUpdate) -> User:
    fields = changes.model_dump(exclude_unset=True)
    before = (user.display_name, user.avatar_url)
    if "display_name" in fields and changes.display_name is not None:
        user.display_name = changes.display_name
    if "avatar_url" in fields:
        user.avatar_url = None if changes.avatar_url is None else str(changes.avatar_url)
    if (user.display_name, user.avatar_url) != before:
        await session.flush()
        record_user_event(session, USER_UPDATED, user)
    return user


async def get_user(session: AsyncSession, user_id: UUID) -> User:
    user = await users.get(session, user_id)
    if user is None or not user.is_active:
        raise UserNotFound()
    return user


async def search_users(
    session: AsyncSession, *, query: str, ids: Sequence[UUID], limit: int, offset: int
) -> tuple[list[User], int]:
    return await users.search(session, query=query.strip(), ids=ids, limit=limit, offset=offset)
