"""Request dependencies: the gateway's runtime, a session, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from notify_ws_service.auth.verifier import AuthUnavailable, Identity
from shared.db import session_scope
from shared.errors import ServiceUnavailable, Unauthorized

if TYPE_CHECKING:
    from notify_ws_service.gateway import Gateway


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated["Gateway", Depends(get_gateway)]


async def get_session(gateway: GatewayDep) -> AsyncIterator[AsyncSession]:
    async with session_scope(gateway.sessionmaker) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

bearer = HTTPBearer(auto_error=False, description="An access token from auth_service")


async def current_user(
    gateway: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Identity:
    if credentials is None:
        raise Unauthorized("missing bearer token")
    try:
        return await gateway.verifier.verify(credentials.credentials)
    except AuthUnavailable as exc:
        raise ServiceUnavailable("auth_service unavailable, try again later") from exc


CurrentUser = Annotated[Identity, Depends(current_user)]
