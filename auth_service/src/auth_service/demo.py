"""Seed 000's demo users (admin and TestUser1..4) with their fixed ids; development only."""

from __future__ import annotations

from auth_service.auth.service import register
from auth_service.config import Settings
from auth_service.database import make_engine
from auth_service.passwords import Passwords
from auth_service.users import repository as users
from shared.db import create_sessionmaker, session_scope
from shared.demo import DEMO_USERS
from shared.logging import get_logger

log = get_logger(__name__)


class DemoRefused(RuntimeError):
    pass


async def load_demo_users(settings: Settings) -> int:
    """Create the demo users that are missing; returns how many were created."""
    if settings.is_production:
        raise DemoRefused("demo data is never loaded in production")
    engine = make_engine(settings)
    passwords = Passwords(settings)
    created = 0
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            for demo in DEMO_USERS:
                if await users.get(session, demo.id) is not None:
                    continue
                if await users.get_by_email(session, demo.email) is not None:
                    log.warning("demo.email_taken", email=demo.email)
                    continue
                # The seed's passwords ("admin") predate the policy: loaded as they are.
                await register(
                    session,
                    passwords,
                    email=demo.email,
                    password=demo.password,
                    display_name=demo.display_name,
                    is_superuser=demo.is_superuser,
                    user_id=demo.id,
                    check_policy=False,
                )
                created += 1
    finally:
        await engine.dispose()
    log.info("demo.users_loaded", created=created)
    return created
