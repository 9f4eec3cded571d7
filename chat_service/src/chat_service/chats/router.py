"""REST: chats and members."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from chat_service.auth import REFUSALS
from chat_service.chats import mutes, presence, service
from chat_service.chats.schemas import (
    ChatCreate,
    ChatList,
    ChatMute,
    ChatPresence,
    ChatRead,
    ChatUpdate,
    MembersAdd,
    MuteChange,
    OwnerChange,
)
from chat_service.dependencies import State, WorkDep
from chat_service.models import NAME_MAX
from shared.db import MAX_SAFE_INTEGER, NO_NUL

router = APIRouter(prefix="/api/v1/chats", tags=["chats"], responses=REFUSALS)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such chat, or you are not in it"}
}
NO_SUCH_USER: dict[int | str, dict[str, Any]] = {
    404: {"description": "Someone to add is not a user (UserNotFound names them)"}
}
NOT_FOUND_OR_NO_SUCH_USER: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such chat, or you are not in it (ChatNotFound); or someone to "
        "add is not a user (UserNotFound names them)"
    }
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "You are a member but may not do this"}
}


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Create a chat", responses=NO_SUCH_USER
)
async def create_chat(body: ChatCreate, work: WorkDep) -> ChatRead:
    return await service.create_chat(work, body)


@router.get("", summary="My chats with last message and unread count; search by name")
async def list_chats(
    work: WorkDep,
    q: Annotated[
        str | None,
        Query(max_length=NAME_MAX, pattern=NO_NUL, description="Part of the name"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SAFE_INTEGER)] = 0,
) -> ChatList:
    return await service.list_chats(work, query=q, limit=limit, offset=offset)


@router.get("/{chat_id}", summary="A chat and its members", responses=NOT_FOUND)
async def get_chat(chat_id: UUID, work: WorkDep) -> ChatRead:
    return await service.get_chat(work, chat_id)


@router.get("/{chat_id}/presence", summary="Which members are online", responses=NOT_FOUND)
async def get_presence(chat_id: UUID, work: WorkDep, state: State) -> ChatPresence:
    """Online: a chat socket open (`/ws` or `/ws/chat/{chat_id}`) on any instance. A
    socket that sends `watch_presence` hears every change of the people in its chats."""
    return await presence.chat_presence(work, state, chat_id)


@router.patch("/{chat_id}", summary="Rename (owner)", responses={**NOT_FOUND, **FORBIDDEN})
async def rename_chat(chat_id: UUID, body: ChatUpdate, work: WorkDep) -> ChatRead:
    return await service.rename_chat(work, chat_id, body.name)


@router.put(
    "/{chat_id}/owner",
    summary="Hand the chat over to another member (owner); you stay as a member",
    responses={
        404: {
            "description": "No such chat, or you are not in it (ChatNotFound); or "
            "the new owner is not a member (MemberNotFound)"
        },
        **FORBIDDEN,
    },
)
async def transfer_ownership(chat_id: UUID, body: OwnerChange, work: WorkDep) -> ChatRead:
    return await service.transfer_ownership(work, chat_id, body.user_id)


@router.put(
    "/{chat_id}/mute",
    summary="Mute the chat's notifications for you, until a time or until you unmute it",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def mute_chat(chat_id: UUID, body: MuteChange, work: WorkDep) -> ChatMute:
    return await mutes.set_mute(work, chat_id, body.until, muted=True)


@router.delete("/{chat_id}/mute", summary="Unmute the chat", responses={**NOT_FOUND, **FORBIDDEN})
async def unmute_chat(chat_id: UUID, work: WorkDep) -> ChatMute:
    return await mutes.set_mute(work, chat_id, None, muted=False)


@router.delete(
    "/{chat_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the chat with its members and messages (owner)",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def delete_chat(chat_id: UUID, work: WorkDep) -> Response:
    await service.delete_chat(work, chat_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{chat_id}/members",
    summary="Add members (owner); a private chat becomes a group",
    responses={**NOT_FOUND_OR_NO_SUCH_USER, **FORBIDDEN},
)
async def add_members(chat_id: UUID, body: MembersAdd, work: WorkDep) -> ChatRead:
    return await service.add_members(work, chat_id, body.user_ids)


@router.delete(
    "/{chat_id}/members/{user_id}",
    summary="Remove a member: yourself, or anyone as the owner or a superuser",
    responses={
        **NOT_FOUND,
        **FORBIDDEN,
        409: {"description": "The owner cannot leave (hand the chat over first)"},
    },
)
async def remove_member(chat_id: UUID, user_id: UUID, work: WorkDep) -> ChatRead:
    return await service.remove_members(work, chat_id, [user_id])
