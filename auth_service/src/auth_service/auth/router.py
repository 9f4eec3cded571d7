"""/api/v1/auth: register, login, refresh, logout, verify, my sessions and password; and
the public keys."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from auth_service.auth import account, service
from auth_service.auth.schemas import (
    JwkSet,
    LogoutRequest,
    PasswordChange,
    RefreshRequest,
    RegisterRequest,
    SessionList,
    SessionsEnded,
    TokenPair,
    VerifiedToken,
)
from auth_service.dependencies import (
    BearerToken,
    ClientAddress,
    CurrentLogin,
    PasswordsDep,
    RegistrationLimitDep,
    SessionDep,
    ThrottleDep,
    TokensDep,
)
from auth_service.errors import RefreshTokenReused
from auth_service.responses import errors
from auth_service.users.schemas import UserMe
from shared.errors import InvalidToken, TooManyRequests, Unauthorized

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
keys_router = APIRouter(tags=["keys"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    responses=errors(409, 422, 429),
)
async def register(
    body: RegisterRequest,
    session: SessionDep,
    passwords: PasswordsDep,
    limit: RegistrationLimitDep,
    address: ClientAddress,
) -> UserMe:
    """Creates the account (and a `user.registered` event on `auth.events`). Log in
    afterwards to get tokens. The password needs 8 to 128 characters and must not be the
    email address. Accounts created from one address are limited per hour."""
    retry_after = await limit.retry_after(address)
    if retry_after is not None:
        raise TooManyRequests("too many accounts created from here", retry_after=retry_after)
    user = await service.register(
        session,
        passwords,
        email=str(body.email),
        password=body.password,
        display_name=body.display_name,
    )
    await limit.registered(address)
    return UserMe.model_validate(user)


@router.post(
    "/login",
    summary="Log in with email and password (OAuth2 password form)",
    responses=errors(401, 403, 422, 429),
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    throttle: ThrottleDep,
    address: ClientAddress,
    response: Response,
) -> TokenPair:
    """`username` is the email. Answers an access token (short-lived) and a refresh
    token (exchange it at /refresh). Repeated failures on one account from one address,
    on one account from anywhere, or from one address are answered 429 with
    `Retry-After` for a while."""
    response.headers.update(NO_STORE)
    return await service.login(
        session,
        passwords,
        tokens,
        throttle,
        email=form.username,
        password=form.password,
        client_address=address,
    )


@router.post(
    "/refresh",
    summary="Exchange a refresh token for a new token pair",
    responses=errors(401, 422),
)
async def refresh(
    body: RefreshRequest, session: SessionDep, tokens: TokensDep, response: Response
) -> TokenPair:
    """Rotation: the refresh token presented is dead afterwards. Presenting one that was
    already exchanged revokes the whole session (every token issued from its login)."""
    response.headers.update(NO_STORE)
    try:
        return await service.refresh(session, tokens, refresh_token=body.refresh_token)
    except RefreshTokenReused:
        # The revocation must outlive this failed request.
        await session.commit()
        raise


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the session: its refresh token stops working at once",
    responses=errors(401),
)
async def logout(
    session: SessionDep,
    tokens: TokensDep,
    token: BearerToken,
    body: Annotated[LogoutRequest | None, Body()] = None,
) -> None:
    """Send the session's refresh token in the body, or its access token as
    `Authorization: Bearer` (the refresh token wins when both are sent, so an expired
    access token does not prevent logging out).

    The refresh token stops working at once, and so does the access token here. The
    other services learn of the end from `session.ended` on `auth.events` within a
    moment: they refuse the access token from then on and close its sockets with 4401."""
    if body is not None and body.refresh_token:
        refresh_claims = tokens.decode_refresh(body.refresh_token)
        session_id, user_id = _uuid(refresh_claims["sid"]), _uuid(refresh_claims["sub"])
    elif token:
        claims = tokens.verify_access(token)
        session_id, user_id = claims.session_id, claims.user_id
    else:
        raise Unauthorized()
    await service.logout(session, session_id=session_id, user_id=user_id)


@router.get(
    "/verify",
    summary="Check an access token and say whose it is",
    responses=errors(401),
)
async def verify(
    session: SessionDep,
    tokens: TokensDep,
    response: Response,
    bearer: BearerToken,
    token: Annotated[
        str | None,
        Query(max_length=8192, description="The access token, when no header can be sent"),
    ] = None,
) -> VerifiedToken:
    """The token comes as `Authorization: Bearer <token>` or `?token=<token>` (the query
    wins when both are sent, as on WebSocket handshakes). 200 only for a valid access
    token whose session is alive (not logged out, not revoked)."""
    presented = token or bearer
    if not presented:
        raise Unauthorized()
    _, verified = await service.verify(session, tokens, token=presented)
    response.headers.update(NO_STORE)
    return verified


@router.get("/sessions", summary="My sessions (devices) that are logged in", responses=errors(401))
async def list_sessions(session: SessionDep, login: CurrentLogin) -> SessionList:
    """Each login that has not ended or expired, with where it logged in from and when
    it was last active; `current` marks the one making this request."""
    return await account.list_sessions(session, login[1])


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End one of my sessions (log a device out)",
    responses=errors(401, 404),
)
async def end_session(session_id: UUID, session: SessionDep, login: CurrentLogin) -> None:
    """As a logout of that session: its tokens stop working everywhere within a moment.
    Ending one that has ended already changes nothing."""
    await account.end_session(session, login[1], session_id)


@router.delete(
    "/sessions",
    summary="End every session of mine but this one (log out other devices)",
    responses=errors(401),
)
async def end_other_sessions(session: SessionDep, login: CurrentLogin) -> SessionsEnded:
    ended = await account.end_other_sessions(session, login[1], reason="ended_by_user")
    return SessionsEnded(ended=ended)


@router.post(
    "/password",
    summary="Change my password; every other session ends",
    responses=errors(401, 403, 422, 429),
)
async def change_password(
    body: PasswordChange,
    session: SessionDep,
    login: CurrentLogin,
    passwords: PasswordsDep,
    throttle: ThrottleDep,
    address: ClientAddress,
) -> SessionsEnded:
    """403 `WrongPassword` when `current_password` is wrong; wrong guesses count as
    failed logins of the account (429 with `Retry-After` after a few). The new password
    follows the registration rules. The session making the request stays logged in."""
    user, me = login
    ended = await account.change_password(
        session,
        passwords,
        throttle,
        user=user,
        me=me,
        current=body.current_password,
        new=body.new_password,
        client_address=address,
    )
    return SessionsEnded(ended=ended)


@keys_router.get(
    "/.well-known/jwks.json",
    summary="Public keys that verify this service's tokens (RS256)",
)
async def jwks_document(tokens: TokensDep, response: Response) -> JwkSet:
    """Services verify access tokens locally with these; fetch again when a token names
    an unknown `kid` (the key was rotated)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return JwkSet.model_validate(tokens.jwks())


def _uuid(value: Any) -> UUID:
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise InvalidToken("invalid token") from exc
