"""Seed 000's demo chats (development only): TestChat1 and TestChat2 with their groups.

Ids come from shared.demo, the same the demo users have in auth_service.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.chats import repository
from chat_service.chats.service import chat_type_for
from chat_service.config import Settings
from chat_service.database import make_engine
from chat_service.models import Chat, Role
from shared.db import create_sessionmaker, session_scope, utcnow
from shared.demo import DEMO_CHATS
from shared.logging import get_logger

log = get_logger(__name__)


async def load_demo_chats(settings: Settings) -> int:
    """Creates the demo chats that are missing; returns how many it created."""
    engine = make_engine(settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            return await _load(session)
    finally:
        await engine.dispose()


async def _load(session: AsyncSession) -> int:
    created = 0
    for demo in DEMO_CHATS:
        if await repository.get_chat(session, demo.id) is not None:
            continue
        now = utcnow()
        session.add(
            Chat(
                id=demo.id,
                name=demo.name,
                type=chat_type_for(len(demo.members)).value,
                owner_id=demo.owner.id,
                last_seq=0,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        for user in demo.members:
            await repository.insert_members(
                session,
                demo.id,
                [user.id],
                role=Role.OWNER if user == demo.owner else Role.MEMBER,
                last_read_seq=0,
                display_names={user.id: user.display_name},
            )
        created += 1
        log.info("demo.chat_created", chat_id=str(demo.id), name=demo.name, group=demo.group)
    return created
