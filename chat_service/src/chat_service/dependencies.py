"""Request dependencies, as named types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from chat_service.auth import authenticate
from chat_service.context import Actor, Work
from chat_service.state import ChatState
from shared.errors import TooManyRequests

# The login lives in auth_service; main.py points Swagger's "Authorize" there.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def get_state(request: Request) -> ChatState:
    state: ChatState = request.app.state.chat
    return state


State = Annotated[ChatState, Depends(get_state)]


async def current_actor(
    request: Request, state: State, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Actor:
    """The caller; a write (anything but GET and HEAD) counts against their rate."""
    actor, _ = await authenticate(state.verifier, token)
    if request.method not in ("GET", "HEAD"):
        retry_after = await state.writes.take(f"writes:{actor.user_id}")
        if retry_after is not None:
            raise TooManyRequests("too many writes; slow down", retry_after=retry_after)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def get_work(state: State, actor: CurrentActor) -> AsyncIterator[Work]:
    """One transaction per request, committed before the response is sent."""
    async with state.work(actor) as work:
        yield work


WorkDep = Annotated[Work, Depends(get_work, scope="function")]
