"""Invite links: the owner makes one, lists the live ones and revokes any; whoever holds
a live one joins as a member."""

from __future__ import annotations

import secrets
from datetime import timedelta
from uuid import UUID

from sqlalchemy import delete, select

from chat_service.chats import repository as chats
from chat_service.chats.access import owned_chat
from chat_service.chats.schemas import ChatRead
from chat_service.chats.service import admit, chat_read
from chat_service.context import Work
from chat_service.database import as_utc
from chat_service.errors import ChatNotFound, InviteNotFound
from chat_service.invites.schemas import InviteCreate, InviteList, InvitePreview, InviteRead
from chat_service.models import Invite
from shared.db import utcnow


def invite_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/invites/{token}"


def invite_read(invite: Invite, public_url: str) -> InviteRead:
    return InviteRead(
        token=invite.token,
        chat_id=invite.chat_id,
        url=invite_url(public_url, invite.token),
        expires_at=as_utc(invite.expires_at),
        max_uses=invite.max_uses,
        uses=invite.uses,
    )


async def create_invite(
    work: Work, chat_id: UUID, data: InviteCreate, *, default_ttl: int, public_url: str
) -> InviteRead:
    await owned_chat(work, chat_id)
    now = utcnow()
    invite = Invite(
        token=secrets.token_urlsafe(24),
        chat_id=chat_id,
        created_by=work.actor.user_id,
        created_at=now,
        expires_at=now + timedelta(seconds=data.expires_in_seconds or default_ttl),
        max_uses=data.max_uses,
        uses=0,
    )
    work.session.add(invite)
    await work.session.flush()
    return invite_read(invite, public_url)


async def list_invites(work: Work, chat_id: UUID, *, public_url: str) -> InviteList:
    await owned_chat(work, chat_id)
    query = (
        select(Invite)
        .where(Invite.chat_id == chat_id, Invite.expires_at > utcnow())
        .order_by(Invite.created_at.desc(), Invite.token)
    )
    live = [
        invite
        for invite in (await work.session.scalars(query)).all()
        if invite.max_uses is None or invite.uses < invite.max_uses
    ]
    return InviteList(chat_id=chat_id, items=[invite_read(i, public_url) for i in live])


async def revoke_invite(work: Work, chat_id: UUID, token: str) -> None:
    """The link stops working at once; members it let in stay."""
    await owned_chat(work, chat_id)
    statement = delete(Invite).where(Invite.token == token, Invite.chat_id == chat_id)
    result = await work.session.execute(statement)
    if not int(getattr(result, "rowcount", 0) or 0):
        raise InviteNotFound()


async def _live_invite(work: Work, token: str, *, lock: bool) -> Invite:
    query = select(Invite).where(Invite.token == token)
    if lock:
        query = query.with_for_update()
    invite = (await work.session.scalars(query)).one_or_none()
    if invite is None:
        raise InviteNotFound()
    if as_utc(invite.expires_at) <= utcnow():
        raise InviteNotFound("this invite has expired")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise InviteNotFound("this invite has been used up")
    return invite


async def preview_invite(work: Work, token: str) -> InvitePreview:
    """What the link leads to, so the holder can decide to join."""
    invite = await _live_invite(work, token, lock=False)
    chat = await chats.get_chat(work.session, invite.chat_id)
    if chat is None:
        raise InviteNotFound()
    counts = await chats.member_counts(work.session, [chat.id])
    return InvitePreview(
        token=invite.token,
        chat_id=chat.id,
        chat_name=chat.name,
        member_count=counts.get(chat.id, 0),
        expires_at=as_utc(invite.expires_at),
    )


async def accept_invite(work: Work, token: str) -> ChatRead:
    invite = await _live_invite(work, token, lock=True)
    chat = await chats.get_chat(work.session, invite.chat_id, lock=True)
    if chat is None:
        raise ChatNotFound()
    me = work.actor.user_id
    if await chats.get_member(work.session, chat.id, me) is not None:
        return chat_read(chat, await chats.members_of(work.session, chat.id))
    invite.uses += 1
    return await admit(work, chat, {me: work.actor.display_name})
