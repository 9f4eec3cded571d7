"""Accounts and sessions: register, log in, rotate refresh tokens, log out, verify.

Functions flush, never commit: the request's transaction commits at the boundary.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.auth import repository as sessions
from auth_service.auth.schemas import TokenPair, VerifiedToken
from auth_service.database import as_utc
from auth_service.errors import EmailTaken, InvalidCredentials, RefreshTokenReused
from auth_service.events import USER_REGISTERED, record_user_event
from auth_service.metrics import LOGINS, REFRESHES, REGISTRATIONS
from auth_service.models import EMAIL_MAX_LENGTH, LoginSession, User
from auth_service.passwords import Passwords
from auth_service.throttle import LoginThrottle
from auth_service.tokens import Tokens, new_token_id
from auth_service.users import repository as users
from shared.db import utcnow
from shared.errors import Forbidden, InvalidToken, TooManyRequests
from shared.logging import get_logger

log = get_logger(__name__)


async def register(
    session: AsyncSession,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    display_name: str | None,
    is_superuser: bool = False,
    user_id: UUID | None = None,
    check_policy: bool = True,
) -> User:
    email = email.lower()
    if check_policy:
        passwords.check_policy(password, email=email)
    if await users.get_by_email(session, email) is not None:
        raise EmailTaken()
    user = User(
        email=email,
        password_hash=await passwords.hash(password),
        display_name=display_name or email.partition("@")[0][:64],
        is_superuser=is_superuser,
        is_active=True,
    )
    if user_id is not None:
        user.id = user_id
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        # A concurrent registration of the same email won the race for the unique index.
        raise EmailTaken() from exc
    record_user_event(session, USER_REGISTERED, user)
    REGISTRATIONS.inc()
    log.info("user.registered", user_id=str(user.id))
    return user


async def login(
    session: AsyncSession,
    passwords: Passwords,
    tokens: Tokens,
    throttle: LoginThrottle,
    *,
    email: str,
    password: str,
    client_address: str | None,
) -> TokenPair:
    email = email.strip().lower()
    if len(email) > EMAIL_MAX_LENGTH or len(password) > passwords.max_length:
        # Cannot match any account; refused before spending a hash on it.
        LOGINS.labels("failed").inc()
        raise InvalidCredentials()
    retry_after = await throttle.attempt(email, client_address)
    if retry_after is not None:
        LOGINS.labels("throttled").inc()
        log.warning("login.throttled", client_address=client_address)
        raise TooManyRequests("too many failed logins; try again later", retry_after=retry_after)
    user = await users.get_by_email(session, email)
    if not await passwords.verify(user.password_hash if user else None, password):
        await throttle.failed(client_address)
        LOGINS.labels("failed").inc()
        log.info("login.failed", client_address=client_address)
        raise InvalidCredentials()
    assert user is not None
    # Locked and read again: a password change that committed meanwhile wins (this login
    # knew the old password); one still running waits for this session to end it.
    verified_hash = user.password_hash
    await session.refresh(user, with_for_update=True)
    if user.password_hash != verified_hash:
        raise InvalidCredentials()
    await throttle.succeeded(email, client_address)
    if not user.is_active:
        LOGINS.labels("disabled").inc()
        raise Forbidden("this account is disabled")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(password)
    now = utcnow()
    login_session = LoginSession(
        user_id=user.id,
        refresh_token_id=new_token_id(),
        created_at=now,
        expires_at=now + timedelta(seconds=tokens.refresh_ttl),
        client_address=client_address,
    )
    session.add(login_session)
    await session.flush()
    LOGINS.labels("succeeded").inc()
    log.info("login.succeeded", user_id=str(user.id), session_id=str(login_session.id))
    return _pair(tokens, user, login_session)


async def refresh(session: AsyncSession, tokens: Tokens, *, refresh_token: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the presented one dies.

    Raises :class:`RefreshTokenReused` after revoking the session when the token was
    already exchanged: the caller must commit before answering so the revocation holds.
    """
    claims = tokens.decode_refresh(refresh_token)
    login_session = await sessions.get_for_update(session, UUID(claims["sid"]))
    if login_session is None or login_session.revoked_at is not None:
        raise InvalidToken("session ended")
    if as_utc(login_session.expires_at) <= utcnow():
        raise InvalidToken("session expired")
    if UUID(claims["jti"]) != login_session.refresh_token_id:
        await sessions.revoke(session, login_session, reason="refresh_reuse")
        REFRESHES.labels("reused").inc()
        log.warning(
            "refresh.reuse_detected",
            session_id=str(login_session.id),
            user_id=str(login_session.user_id),
        )
        raise RefreshTokenReused()
    user = await users.get(session, login_session.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("account disabled")
    now = utcnow()
    login_session.refresh_token_id = new_token_id()
    login_session.refreshed_at = now
    login_session.expires_at = now + timedelta(seconds=tokens.refresh_ttl)
    await session.flush()
    REFRESHES.labels("rotated").inc()
    return _pair(tokens, user, login_session)


async def logout(session: AsyncSession, *, session_id: UUID, user_id: UUID) -> None:
    login_session = await sessions.get_for_update(session, session_id)
    if login_session is None or login_session.user_id != user_id:
        raise InvalidToken("session ended")
    await sessions.revoke(session, login_session, reason="logout")
    log.info("logout", session_id=str(session_id), user_id=str(user_id))


async def verify(
    session: AsyncSession, tokens: Tokens, *, token: str
) -> tuple[User, VerifiedToken]:
    """The holder of ``token``, an access token of a session still alive."""
    claims = tokens.verify_access(token)
    found = await sessions.get_with_user(session, claims.session_id)
    if found is None:
        raise InvalidToken("session ended")
    login_session, user = found
    if login_session.revoked_at is not None or login_session.user_id != claims.user_id:
        raise InvalidToken("session ended")
    if not user.is_active:
        raise InvalidToken("account disabled")
    verified = VerifiedToken(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        is_superuser=user.is_superuser,
        exp=claims.exp,
        session_id=login_session.id,
    )
    return user, verified


def _pair(tokens: Tokens, user: User, login_session: LoginSession) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token(
            user_id=user.id,
            session_id=login_session.id,
            email=user.email,
            display_name=user.display_name,
            is_superuser=user.is_superuser,
        ),
        expires_in=tokens.access_ttl,
        refresh_token=tokens.refresh_token(
            user_id=user.id,
            session_id=login_session.id,
            token_id=login_session.refresh_token_id,
        ),
    )
