"""REST: messages, reactions and read marks."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status

from chat_service.auth import REFUSALS
from chat_service.chats.router import FORBIDDEN
from chat_service.dependencies import CurrentActor, State, WorkDep
from chat_service.messages import pins, service
from chat_service.messages.schemas import (
    EMOJI_PATTERN,
    PAGE_MAX,
    SEARCH_DESCRIPTION,
    SEARCH_MAX,
    MessageCreate,
    MessagePage,
    MessageReactions,
    MessageRead,
    MessageUpdate,
    PinnedMessages,
    ReadMark,
    ReadState,
)
from chat_service.models import REACTION_MAX
from shared.db import MAX_SAFE_INTEGER, NO_NUL

router = APIRouter(prefix="/api/v1/chats/{chat_id}", tags=["messages"], responses=REFUSALS)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such chat (or message), or you are not in the chat"}
}


@router.post(
    "/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Send a message (idempotent by client_message_id)",
    responses={
        200: {"model": MessageRead, "description": "A retry: the original message"},
        **NOT_FOUND,
    },
)
async def send_message(
    chat_id: UUID, body: MessageCreate, state: State, actor: CurrentActor, response: Response
) -> MessageRead:
    result = await service.send_message(state.sends, actor, chat_id, body)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result.message


@router.get(
    "/messages",
    summary="History in seq order: the newest page, before_seq (older) or after_seq "
    "(catch-up after a reconnect); q searches",
    responses=NOT_FOUND,
)
async def get_messages(
    chat_id: UUID,
    work: WorkDep,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_SAFE_INTEGER)] = None,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SAFE_INTEGER)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=SEARCH_MAX, pattern=NO_NUL, description=SEARCH_DESCRIPTION),
    ] = None,
) -> MessagePage:
    return await service.get_messages(
        work, chat_id, before_seq=before_seq, after_seq=after_seq, limit=limit, containing=q
    )


@router.patch("/messages/{message_id}", summary="Edit your message", responses=NOT_FOUND)
async def edit_message(
    chat_id: UUID, message_id: UUID, body: MessageUpdate, work: WorkDep
) -> MessageRead:
    return await service.edit_message(work, chat_id, message_id, body.text)


@router.delete(
    "/messages/{message_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete your message",
    responses=NOT_FOUND,
)
async def delete_message(chat_id: UUID, message_id: UUID, work: WorkDep) -> Response:
    await service.delete_messages(work, chat_id, message_ids=[message_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


ReactionKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=REACTION_MAX,
        pattern=EMOJI_PATTERN,
        description="An emoji (URL-encoded), or any short key without spaces",
        examples=["👍"],
    ),
]
REACTION_REFUSALS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "The message was deleted, or you have put too many reactions on it"},
}


@router.put(
    "/messages/{message_id}/reactions/{emoji}",
    summary="React to a message (again: no change)",
    responses=REACTION_REFUSALS,
)
async def add_reaction(
    chat_id: UUID, message_id: UUID, emoji: ReactionKey, work: WorkDep
) -> MessageReactions:
    return await service.react(work, chat_id, message_id, emoji, add=True)


@router.delete(
    "/messages/{message_id}/reactions/{emoji}",
    summary="Take your reaction back (none: no change)",
    responses=REACTION_REFUSALS,
)
async def remove_reaction(
    chat_id: UUID, message_id: UUID, emoji: ReactionKey, work: WorkDep
) -> MessageReactions:
    return await service.react(work, chat_id, message_id, emoji, add=False)


@router.post("/read", summary="Mark everything up to seq as read", responses=NOT_FOUND)
async def read_messages(chat_id: UUID, body: ReadMark, work: WorkDep) -> ReadState:
    return await service.read_messages(work, chat_id, body.seq)


@router.get("/pins", summary="The chat's pinned messages, newest pin first", responses=NOT_FOUND)
async def pinned_messages(chat_id: UUID, work: WorkDep) -> PinnedMessages:
    return await pins.pinned_messages(work, chat_id)


PIN_REFUSALS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    **FORBIDDEN,
    409: {"description": "The message was deleted, or the chat has the most pins it may"},
}


@router.put(
    "/messages/{message_id}/pin",
    summary="Pin a message to the chat (any member; again: no change)",
    responses=PIN_REFUSALS,
)
async def pin_message(chat_id: UUID, message_id: UUID, work: WorkDep) -> MessageRead:
    return await pins.pin(work, chat_id, message_id, pinned=True)


@router.delete(
    "/messages/{message_id}/pin",
    summary="Unpin a message (any member; not pinned: no change)",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def unpin_message(chat_id: UUID, message_id: UUID, work: WorkDep) -> MessageRead:
    return await pins.pin(work, chat_id, message_id, pinned=False)
