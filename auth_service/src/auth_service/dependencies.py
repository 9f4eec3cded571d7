"""Request dependencies, as named types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.auth import service
from auth_service.auth.schemas import VerifiedToken
from auth_service.events import OUTBOX_PENDING
from auth_service.models import User
from auth_service.passwords import Passwords
from auth_service.state import AuthState
from auth_service.throttle import LoginThrottle, RegistrationLimit
from auth_service.tokens import Tokens
from shared.errors import Unauthorized

TOKEN_URL = "/api/v1/auth/login"

# auto_error=False: a missing token is our 401 in the suite's error shape.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_state(request: Request) -> AuthState:
    state: AuthState = request.app.state.auth
    return state


State = Annotated[AuthState, Depends(get_state)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            # Also after a request that failed having committed events on purpose (a
            # replayed refresh token); a wake after a rollback only costs one poll.
            if session.info.get(OUTBOX_PENDING):
                state.relay.wake()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_passwords(state: State) -> Passwords:
    return state.passwords


def get_tokens(state: State) -> Tokens:
    return state.tokens


def get_throttle(state: State) -> LoginThrottle:
    return state.throttle


def get_registrations(state: State) -> RegistrationLimit:
    return state.registrations


PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
TokensDep = Annotated[Tokens, Depends(get_tokens)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
RegistrationLimitDep = Annotated[RegistrationLimit, Depends(get_registrations)]
BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


async def current_login(
    session: SessionDep, tokens: TokensDep, token: BearerToken
) -> tuple[User, VerifiedToken]:
    """The caller and the session of their token (alive, or 401)."""
    if not token:
        raise Unauthorized()
    return await service.verify(session, tokens, token=token)


CurrentLogin = Annotated[tuple[User, VerifiedToken], Depends(current_login)]


def current_user(login: CurrentLogin) -> User:
    return login[0]


CurrentUser = Annotated[User, Depends(current_user)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]
