"""Requests of the ``/ws`` protocol: one schema per action, built on the REST schemas so
both validate alike (and the AsyncAPI document shows the same limits)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from chat_service.chats.schemas import MEMBERS_PER_REQUEST, ChatUpdate, MuteChange, OwnerChange
from chat_service.invites.schemas import InviteCreate
from chat_service.messages.schemas import (
    PAGE_MAX,
    SEARCH_DESCRIPTION,
    SEARCH_MAX,
    Emoji,
    MessageCreate,
    MessageUpdate,
    ReadMark,
)
from chat_service.models import NAME_MAX
from chat_service.schemas import InputSchema
from shared.db import MAX_SAFE_INTEGER, NO_NUL


class Empty(InputSchema):
    pass


class ChatRef(InputSchema):
    chat_id: UUID


class ListChats(InputSchema):
    query: str | None = Field(default=None, max_length=NAME_MAX, description="Part of the name")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_SAFE_INTEGER)


class SearchChats(ListChats):
    query: str = Field(min_length=1, max_length=NAME_MAX, description="Part of the name")


class RenameChat(ChatUpdate):
    chat_id: UUID


class MuteChat(MuteChange):
    chat_id: UUID


class TransferOwnership(OwnerChange):
    chat_id: UUID


class MembersChange(InputSchema):
    chat_id: UUID
    user_ids: list[UUID] = Field(min_length=1, max_length=MEMBERS_PER_REQUEST)


class GetMessages(InputSchema):
    chat_id: UUID
    before_seq: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER)
    after_seq: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SAFE_INTEGER,
        description="The last seq you saw: get exactly what you missed.",
    )
    limit: int = Field(default=50, ge=1, le=PAGE_MAX)
    query: str | None = Field(
        default=None,
        min_length=1,
        max_length=SEARCH_MAX,
        pattern=NO_NUL,
        description=SEARCH_DESCRIPTION,
    )


class SendMessage(MessageCreate):
    chat_id: UUID


class EditMessage(MessageUpdate):
    chat_id: UUID
    message_id: UUID


class React(InputSchema):
    chat_id: UUID
    message_id: UUID
    emoji: Emoji


class MessageRef(InputSchema):
    chat_id: UUID
    message_id: UUID


class WatchPresence(InputSchema):
    watch: bool = Field(default=True, description="false: stop")


class DeleteMessages(InputSchema):
    chat_id: UUID
    message_ids: list[UUID] = Field(min_length=1, max_length=PAGE_MAX)


class ReadMessages(ReadMark):
    chat_id: UUID


class CreateInvite(InviteCreate):
    chat_id: UUID


class AcceptInvite(InputSchema):
    token: str = Field(min_length=1, max_length=64)


class RevokeInvite(AcceptInvite):
    chat_id: UUID


class Refresh(InputSchema):
    token: str = Field(min_length=1, max_length=8192, description="A fresh access token")
