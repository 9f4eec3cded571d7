"""Who may do what in a chat (seed 000's rules), in one place.

Outsiders learn nothing: a chat they are not in is "not found". A superuser sees every
chat (members, history) and may remove members, but acts as nobody's member otherwise.
"""

from __future__ import annotations

from uuid import UUID

from chat_service.chats import repository
from chat_service.context import Work
from chat_service.errors import ChatNotFound, NotChatMember, NotChatOwner
from chat_service.models import Chat, Member, Role


async def visible_chat(work: Work, chat_id: UUID) -> tuple[Chat, Member | None]:
    """Read access: members and superusers."""
    chat = await repository.get_chat(work.session, chat_id)
    if chat is None:
        raise ChatNotFound()
    member = await repository.get_member(work.session, chat_id, work.actor.user_id)
    if member is None and not work.actor.is_superuser:
        raise ChatNotFound()
    return chat, member


async def member_chat(work: Work, chat_id: UUID, *, lock: bool = False) -> tuple[Chat, Member]:
    """Acting as a member: send, edit, delete, read marks, typing."""
    chat = await repository.get_chat(work.session, chat_id, lock=lock)
    if chat is None:
        raise ChatNotFound()
    member = await repository.get_member(work.session, chat_id, work.actor.user_id)
    if member is None:
        if work.actor.is_superuser:
            raise NotChatMember()
        raise ChatNotFound()
    return chat, member


async def owned_chat(work: Work, chat_id: UUID, *, lock: bool = False) -> tuple[Chat, Member]:
    """Owner only: add members, rename, invite, delete."""
    chat, member = await member_chat(work, chat_id, lock=lock)
    if member.role != Role.OWNER:
        raise NotChatOwner()
    return chat, member
