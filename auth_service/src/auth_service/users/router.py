"""/api/v1/users: the caller's profile and finding people (for instance to add to a chat)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from auth_service.auth import account
from auth_service.auth.schemas import AccountDeletion
from auth_service.dependencies import (
    ClientAddress,
    CurrentLogin,
    CurrentUser,
    PasswordsDep,
    SessionDep,
    ThrottleDep,
)
from auth_service.responses import errors
from auth_service.users import service
from auth_service.users.schemas import UserMe, UserPage, UserRead, UserUpdate
from shared.db import NO_NUL

router = APIRouter(prefix="/api/v1/users", tags=["users"])

# Ids one search takes: a page's worth, so every match fits on one page.
MAX_IDS = 100


@router.get("/me", summary="My account", responses=errors(401))
async def read_me(user: CurrentUser) -> UserMe:
    return UserMe.model_validate(user)


@router.patch("/me", summary="Change my display name or avatar", responses=errors(401, 422))
async def update_me(body: UserUpdate, user: CurrentUser, session: SessionDep) -> UserMe:
    """Tokens issued before the change still carry the old display name until they are
    refreshed; /verify always answers the current one."""
    updated = await service.update_profile(session, user, changes=body)
    return UserMe.model_validate(updated)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my account for good",
    responses=errors(401, 403, 422, 429),
)
async def delete_account(
    body: AccountDeletion,
    session: SessionDep,
    login: CurrentLogin,
    passwords: PasswordsDep,
    throttle: ThrottleDep,
    address: ClientAddress,
) -> None:
    """Confirm with the current password (403 `WrongPassword`; wrong guesses count as
    failed logins). The account never logs in again, every session of it ends at once
    everywhere, and its email, name and avatar are erased (the email may register
    again). Chats and orders keep its id; `user.deleted` on `auth.events` tells the
    suite."""
    user, me = login
    await account.delete_account(
        session,
        passwords,
        throttle,
        user=user,
        me=me,
        password=body.password,
        client_address=address,
    )


@router.get("", summary="Find people by name or email prefix, or by id", responses=errors(401, 422))
async def search_users(
    _: CurrentUser,
    session: SessionDep,
    q: Annotated[
        str,
        Query(
            max_length=100,
            pattern=NO_NUL,
            description="Prefix of a display name or email; any case",
        ),
    ] = "",
    ids: Annotated[
        list[UUID],
        Query(
            alias="id",
            max_length=MAX_IDS,
            description=f"Only these users (repeat the parameter, up to {MAX_IDS}); "
            "ids of no active user are left out, so services can tell who exists",
        ),
    ] = [],  # noqa: B006 - FastAPI copies defaults per request
    limit: Annotated[int, Query(ge=1, le=MAX_IDS)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> UserPage:
    found, total = await service.search_users(session, query=q, ids=ids, limit=limit, offset=offset)
    return UserPage(
        items=[UserRead.model_validate(u) for u in found],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{user_id}", summary="One user", responses=errors(401, 404))
async def read_user(user_id: UUID, _: CurrentUser, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.get_user(session, user_id))
