"""A signed-in user's own sessions (devices), password and account.

Ending a session, here as at logout, publishes ``session.ended``: every service refuses
its access tokens and closes its sockets within a moment. A new password ends every
other session, so whoever knew the old one is out.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.auth import repository as sessions
from auth_service.auth.schemas import SessionList, SessionRead, VerifiedToken
from auth_service.database import as_utc
from auth_service.errors import SessionNotFound, WrongPassword
from auth_service.events import USER_DELETED, record_user_event
from auth_service.models import LoginSession, User
from auth_service.passwords import Passwords
from auth_service.throttle import LoginThrottle
from shared.db import utcnow
from shared.errors import InvalidToken, TooManyRequests
from shared.logging import get_logger

log = get_logger(__name__)

DELETED_NAME = "Deleted account"
# Not an argon2 hash: no password verifies against it.
UNUSABLE_PASSWORD = "!deleted"


async def list_sessions(session: AsyncSession, me: VerifiedToken) -> SessionList:
    live = await sessions.live_of_user(session, me.user_id)
    return SessionList(
        items=[SessionRead.of(login, current=login.id == me.session_id) for login in live]
    )


async def end_session(session: AsyncSession, me: VerifiedToken, session_id: UUID) -> None:
    """Ends one of the caller's sessions (the current one too, as a logout)."""
    mine = await _lock_mine(session, me)
    target = next((login for login in mine if login.id == session_id), None)
    if target is None:
        raise SessionNotFound()
    await sessions.revoke(session, target, reason="ended_by_user")
    log.info("session.ended_by_user", session_id=str(session_id), user_id=str(me.user_id))


async def end_other_sessions(session: AsyncSession, me: VerifiedToken, *, reason: str) -> int:
    """Ends every live session of the caller's but the current one; returns how many."""
    now = utcnow()
    others = [
        login
        for login in await _lock_mine(session, me)
        if login.id != me.session_id and login.revoked_at is None and as_utc(login.expires_at) > now
    ]
    for login in others:
        await sessions.revoke(session, login, reason=reason)
    log.info("sessions.ended", user_id=str(me.user_id), count=len(others), reason=reason)
    return len(others)


async def _lock_mine(session: AsyncSession, me: VerifiedToken) -> list[LoginSession]:
    """The caller's sessions, locked; the caller's own must still be alive (another
    request may have ended it since its token was checked)."""
    mine = await sessions.lock_of_user(session, me.user_id)
    if not any(login.id == me.session_id and login.revoked_at is None for login in mine):
        raise InvalidToken("session ended")
    return mine


async def change_password(
    session: AsyncSession,
    passwords: Passwords,
    throttle: LoginThrottle,
    *,
    user: User,
    me: VerifiedToken,
    current: str,
    new: str,
    client_address: str | None,
) -> int:
    """Sets the new password and ends every other session; returns how many it ended."""
    await _confirm_password(session, passwords, throttle, user, current, client_address)
    passwords.check_policy(new, email=user.email)
    user.password_hash = await passwords.hash(new)
    return await end_other_sessions(session, me, reason="password_changed")


async def delete_account(
    session: AsyncSession,
    passwords: Passwords,
    throttle: LoginThrottle,
    *,
    user: User,
    me: VerifiedToken,
    password: str,
    client_address: str | None,
) -> None:
    """The account can never log in again and keeps nothing that names its owner: the
    email and name are replaced, the password and avatar dropped. Every session ends;
    ``user.deleted`` tells the suite. The row stays, so that ids others hold (chat
    members, message senders, order owners) still resolve to "nobody"."""
    await _confirm_password(session, passwords, throttle, user, password, client_address)
    await end_other_sessions(session, me, reason="account_deleted")
    current = await sessions.get_for_update(session, me.session_id)
    if current is not None:
        await sessions.revoke(session, current, reason="account_deleted")
    user.email = f"deleted-{user.id.hex}@deleted.invalid"
    user.display_name = DELETED_NAME
    user.avatar_url = None
    user.password_hash = UNUSABLE_PASSWORD
    user.is_active = False
    await session.flush()
    record_user_event(session, USER_DELETED, user)
    log.info("account.deleted", user_id=str(user.id))


async def _confirm_password(
    session: AsyncSession,
    passwords: Passwords,
    throttle: LoginThrottle,
    user: User,
    password: str,
    client_address: str | None,
) -> None:
    """Wrong guesses count as failed logins of the account. The account row is locked
    first: a login checking the password meanwhile waits for this request's outcome, and
    one that got in before is among the sessions it ends."""
    await session.refresh(user, with_for_update=True)
    retry_after = await throttle.attempt(user.email, client_address)
    if retry_after is not None:
        raise TooManyRequests("too many wrong passwords; try again later", retry_after=retry_after)
    if len(password) > passwords.max_length or not await passwords.verify(
        user.password_hash, password
    ):
        await throttle.failed(client_address)
        raise WrongPassword()
    await throttle.succeeded(user.email, client_address)
