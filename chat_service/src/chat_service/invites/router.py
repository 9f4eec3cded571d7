"""REST: invite links."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response, status

from chat_service.auth import REFUSALS
from chat_service.chats.router import FORBIDDEN, NOT_FOUND
from chat_service.chats.schemas import ChatRead
from chat_service.dependencies import State, WorkDep
from chat_service.invites import service
from chat_service.invites.schemas import InviteCreate, InviteList, InvitePreview, InviteRead

router = APIRouter(prefix="/api/v1", tags=["invites"], responses=REFUSALS)

# What invite tokens are made of (secrets.token_urlsafe); anything else, NUL included,
# is refused before it reaches a query.
InviteToken = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]

NO_INVITE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such invite, or it has expired or been used up"}
}


@router.post(
    "/chats/{chat_id}/invites",
    status_code=status.HTTP_201_CREATED,
    summary="Make an invite link (owner)",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def create_invite(
    chat_id: UUID, body: InviteCreate, work: WorkDep, state: State
) -> InviteRead:
    return await service.create_invite(
        work,
        chat_id,
        body,
        default_ttl=state.settings.invite_default_ttl_seconds,
        public_url=state.settings.public_url,
    )


@router.get(
    "/chats/{chat_id}/invites",
    summary="The chat's live invite links (owner)",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def list_invites(chat_id: UUID, work: WorkDep, state: State) -> InviteList:
    return await service.list_invites(work, chat_id, public_url=state.settings.public_url)


@router.delete(
    "/chats/{chat_id}/invites/{token}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an invite link (owner); members it let in stay",
    responses={
        404: {"description": "No such chat, or you are not in it; or no such invite of it"},
        **FORBIDDEN,
    },
)
async def revoke_invite(chat_id: UUID, token: InviteToken, work: WorkDep) -> Response:
    await service.revoke_invite(work, chat_id, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/invites/{token}", summary="Where an invite leads", responses=NO_INVITE)
async def preview_invite(token: InviteToken, work: WorkDep) -> InvitePreview:
    return await service.preview_invite(work, token)


@router.post("/invites/{token}/accept", summary="Join the chat of an invite", responses=NO_INVITE)
async def accept_invite(token: InviteToken, work: WorkDep) -> ChatRead:
    return await service.accept_invite(work, token)
