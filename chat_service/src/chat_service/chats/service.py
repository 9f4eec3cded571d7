"""Chats and members: create, list, search, rename, hand over, delete, add and remove
members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from chat_service.chats import repository
from chat_service.chats.access import owned_chat, visible_chat
from chat_service.chats.mutes import mute_of
from chat_service.chats.schemas import (
    ChatCreate,
    ChatList,
    ChatRead,
    ChatSummary,
    MemberRead,
)
from chat_service.context import Work
from chat_service.errors import ChatNotFound, MemberNotFound, NotChatOwner, OwnerCannotLeave
from chat_service.messages.schemas import MessageRead
from chat_service.models import Chat, ChatType, Member, Role
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)


def chat_type_for(member_count: int) -> ChatType:
    """Two people make a private chat; anything else is a group."""
    return ChatType.PRIVATE if member_count == 2 else ChatType.GROUP


def chat_read(chat: Chat, members: Sequence[Member]) -> ChatRead:
    return ChatRead(
        id=chat.id,
        name=chat.name,
        type=ChatType(chat.type),
        owner_id=chat.owner_id,
        created_at=chat.created_at,
        last_seq=chat.last_seq,
        members=[MemberRead.model_validate(m) for m in members],
    )


def _json(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


async def create_chat(work: Work, data: ChatCreate) -> ChatRead:
    me = work.actor.user_id
    others = [user_id for user_id in dict.fromkeys(data.member_ids) if user_id != me]
    names = await work.user_names(others)
    now = utcnow()
    chat = Chat(
        id=uuid4(),
        name=data.name,
        type=chat_type_for(len(others) + 1).value,
        owner_id=me,
        last_seq=0,
        created_at=now,
        updated_at=now,
    )
    work.session.add(chat)
    await work.session.flush()
    await repository.insert_members(
        work.session,
        chat.id,
        [me],
        role=Role.OWNER,
        last_read_seq=0,
        display_names={me: work.actor.display_name},
    )
    await repository.insert_members(
        work.session, chat.id, others, role=Role.MEMBER, last_read_seq=0, display_names=names
    )
    members = await repository.members_of(work.session, chat.id)
    result = chat_read(chat, members)
    member_ids = [m.user_id for m in members]
    work.record(
        "created",
        chat_id=chat.id,
        data={
            "chat_id": str(chat.id),
            "name": chat.name,
            "type": chat.type,
            "owner_id": str(me),
            "member_ids": [str(u) for u in member_ids],
        },
    )
    work.push("chat_created", chat_id=chat.id, audience=member_ids, data=_json(result))
    log.info("chat.created", chat_id=str(chat.id), type=chat.type, members=len(member_ids))
    return result


async def get_chat(work: Work, chat_id: UUID) -> ChatRead:
    chat, _ = await visible_chat(work, chat_id)
    return chat_read(chat, await repository.members_of(work.session, chat_id))


async def list_chats(
    work: Work, *, query: str | None = None, limit: int = 50, offset: int = 0
) -> ChatList:
    """The caller's chats with last message and unread count, in four queries whatever
    their number."""
    session, me = work.session, work.actor.user_id
    rows = await repository.chats_of_user(session, me, query=query, limit=limit + 1, offset=offset)
    has_more = len(rows) > limit
    rows = rows[:limit]
    chat_ids = [chat.id for chat, _ in rows]
    if not chat_ids:
        return ChatList(items=[], has_more=False)
    counts = await repository.member_counts(session, chat_ids)
    floors = await repository.read_floors(session, chat_ids)
    last = await repository.last_messages(session, chat_ids)
    unread = await repository.unread_counts(session, me, chat_ids)
    now = utcnow()
    items = []
    for chat, member in rows:
        message = last.get(chat.id)
        mute = mute_of(chat.id, member.muted_until, now)
        items.append(
            ChatSummary(
                id=chat.id,
                name=chat.name,
                type=ChatType(chat.type),
                owner_id=chat.owner_id,
                created_at=chat.created_at,
                updated_at=chat.updated_at,
                last_seq=chat.last_seq,
                member_count=counts.get(chat.id, 0),
                last_read_seq=member.last_read_seq,
                unread_count=unread.get(chat.id, 0),
                muted=mute.muted,
                muted_until=mute.muted_until,
                last_message=None
                if message is None
                else MessageRead.of(message, read_seq=floors.get(chat.id, 0)),
            )
        )
    return ChatList(items=items, has_more=has_more)


async def rename_chat(work: Work, chat_id: UUID, name: str) -> ChatRead:
    chat, _ = await owned_chat(work, chat_id, lock=True)
    chat.name = name
    await work.session.flush()
    members = await repository.members_of(work.session, chat_id)
    work.record("renamed", chat_id=chat_id, data={"chat_id": str(chat_id), "name": name})
    work.push(
        "chat_renamed",
        chat_id=chat_id,
        audience=[m.user_id for m in members],
        data={"name": name},
    )
    return chat_read(chat, members)


async def transfer_ownership(work: Work, chat_id: UUID, user_id: UUID) -> ChatRead:
    """The owner makes another member the owner and stays on as a member (so that they
    may leave). Handing it to the owner changes nothing and tells nobody."""
    chat, me = await owned_chat(work, chat_id, lock=True)
    members = await repository.members_of(work.session, chat_id)
    if user_id == me.user_id:
        return chat_read(chat, members)
    heir = next((m for m in members if m.user_id == user_id), None)
    if heir is None:
        raise MemberNotFound()
    if not await repository.hand_over(work.session, chat_id, me.user_id, user_id):
        raise NotChatOwner()  # handed over meanwhile (SQLite takes no row locks)
    me.role, heir.role = Role.MEMBER.value, Role.OWNER.value
    await work.session.flush()
    change = {"owner_id": str(user_id), "previous_owner_id": str(me.user_id)}
    work.record("owner_changed", chat_id=chat_id, data={"chat_id": str(chat_id), **change})
    work.push("owner_changed", chat_id=chat_id, audience=[m.user_id for m in members], data=change)
    log.info("chat.owner_changed", chat_id=str(chat_id))
    return chat_read(chat, members)


async def delete_chat(work: Work, chat_id: UUID) -> None:
    chat, _ = await owned_chat(work, chat_id, lock=True)
    member_ids = [m.user_id for m in await repository.members_of(work.session, chat_id)]
    await repository.delete_chat(work.session, chat_id)
    work.record(
        "deleted",
        chat_id=chat_id,
        data={
            "chat_id": str(chat_id),
            "name": chat.name,
            "member_ids": [str(u) for u in member_ids],
        },
    )
    work.push("chat_deleted", chat_id=chat_id, audience=member_ids, data={"name": chat.name})
    log.info("chat.deleted", chat_id=str(chat_id))


async def add_members(work: Work, chat_id: UUID, user_ids: Sequence[UUID]) -> ChatRead:
    # Who may add comes first (outsiders learn nothing). Only newcomers are looked up,
    # with no transaction open meanwhile: the lookup may take seconds.
    await owned_chat(work, chat_id)
    present = {m.user_id for m in await repository.members_of(work.session, chat_id)}
    await work.session.rollback()
    names = await work.user_names([u for u in dict.fromkeys(user_ids) if u not in present])
    chat, _ = await owned_chat(work, chat_id, lock=True)
    return await admit(work, chat, names)


async def admit(work: Work, chat: Chat, names: dict[UUID, str]) -> ChatRead:
    """Adds members (the chat row is locked) with their display names; a private chat
    with a third becomes a group. Newcomers start with the history read: it was not
    written to them."""
    added = await repository.insert_members(
        work.session,
        chat.id,
        list(names),
        role=Role.MEMBER,
        last_read_seq=chat.last_seq,
        display_names=names,
    )
    members = await repository.members_of(work.session, chat.id)
    if chat.type == ChatType.PRIVATE and len(members) > 2:
        chat.type = ChatType.GROUP.value
        await work.session.flush()
    result = chat_read(chat, members)
    if added:
        member_ids = [m.user_id for m in members]
        work.record(
            "member_added",
            chat_id=chat.id,
            data={
                "chat_id": str(chat.id),
                "user_ids": [str(u) for u in added],
                "member_ids": [str(u) for u in member_ids],
                "type": chat.type,
            },
        )
        work.push(
            "member_added",
            chat_id=chat.id,
            audience=member_ids,
            data={"user_ids": [str(u) for u in added], "chat": _json(result)},
        )
    return result


async def remove_members(work: Work, chat_id: UUID, user_ids: Sequence[UUID]) -> ChatRead:
    """A member leaves by themself; the owner or a superuser removes anyone but the owner."""
    session, actor = work.session, work.actor
    targets = list(dict.fromkeys(user_ids))
    chat = await repository.get_chat(session, chat_id, lock=True)
    if chat is None:
        raise ChatNotFound()
    me = await repository.get_member(session, chat_id, actor.user_id)
    if me is None and not actor.is_superuser:
        raise ChatNotFound()
    may_remove_others = actor.is_superuser or (me is not None and me.role == Role.OWNER)
    if not may_remove_others and any(t != actor.user_id for t in targets):
        raise NotChatOwner("only the owner or a superuser may remove other members")
    if chat.owner_id in targets:
        raise OwnerCannotLeave()
    members = await repository.members_of(session, chat_id)
    present = {m.user_id for m in members}
    if any(t not in present for t in targets):
        raise MemberNotFound()
    await repository.delete_members(session, chat_id, targets)
    remaining = [m for m in members if m.user_id not in targets]
    work.record(
        "member_removed",
        chat_id=chat_id,
        data={
            "chat_id": str(chat_id),
            "user_ids": [str(u) for u in targets],
            "member_ids": [str(m.user_id) for m in remaining],
        },
    )
    work.push(
        "member_removed",
        chat_id=chat_id,
        audience=[*(m.user_id for m in remaining), *targets],
        data={"user_ids": [str(u) for u in targets]},
    )
    return chat_read(chat, remaining)


def touch_display_name(member: Member, name: str) -> None:
    """Keep the cached display name current with the member's token."""
    if name and member.display_name != name:
        member.display_name = name
