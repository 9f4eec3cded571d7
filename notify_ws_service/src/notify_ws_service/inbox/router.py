"""REST for the inbox: list, count unread, mark read, ack, delivery status."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from notify_ws_service.database import as_utc
from notify_ws_service.dependencies import CurrentUser, SessionDep
from notify_ws_service.errors import NotificationNotFound
from notify_ws_service.inbox import repository, service
from notify_ws_service.inbox.schemas import (
    DeliveryStatus,
    MarkedRead,
    NotificationPage,
    NotificationRead,
    UnreadCount,
)
from shared.db import MAX_SAFE_INTEGER

router = APIRouter(
    prefix="/api/v1/notify/notifications",
    tags=["inbox"],
    responses={
        401: {"description": "Missing, invalid or expired token"},
        503: {"description": "auth_service unreachable: the token cannot be checked"},
    },
)


@router.get("", summary="My notifications, newest first")
async def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        int | None, Query(ge=1, le=MAX_SAFE_INTEGER, description="next_cursor of the page before")
    ] = None,
    unread_only: bool = False,
) -> NotificationPage:
    rows = await repository.page(
        session, user_id=user.user_id, before_id=cursor, limit=limit + 1, unread_only=unread_only
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return NotificationPage(
        items=[NotificationRead.of(r) for r in rows],
        next_cursor=rows[-1].id if more and rows else None,
    )


@router.get("/unread-count", summary="How many of my notifications are unread")
async def unread_count(session: SessionDep, user: CurrentUser) -> UnreadCount:
    return UnreadCount(unread=await repository.unread_count(session, user_id=user.user_id))


@router.post("/read-all", summary="Mark all my notifications read")
async def read_all(session: SessionDep, user: CurrentUser) -> MarkedRead:
    return MarkedRead(updated=await repository.mark_all_read(session, user_id=user.user_id))


@router.post(
    "/{message_id}/read",
    summary="Mark one notification read",
    responses={404: {"description": "Not in your inbox"}},
)
async def read_one(message_id: UUID, session: SessionDep, user: CurrentUser) -> NotificationRead:
    row = await service.mark_read(session, user_id=user.user_id, message_id=message_id)
    return NotificationRead.of(row)


@router.post(
    "/{message_id}/ack",
    summary="Acknowledge delivery (the socket's ack frame does the same)",
    responses={404: {"description": "Not in your inbox"}},
)
async def ack_one(message_id: UUID, session: SessionDep, user: CurrentUser) -> NotificationRead:
    row = await service.mark_delivered(session, user_id=user.user_id, message_id=message_id)
    return NotificationRead.of(row)


@router.get(
    "/{message_id}/status",
    summary="Stored, delivered, read: for the recipient and for superusers (senders)",
    responses={404: {"description": "No such notification visible to you"}},
)
async def delivery_status(
    message_id: UUID, session: SessionDep, user: CurrentUser
) -> DeliveryStatus:
    row = await repository.get(session, message_id)
    if row is None or (row.user_id != user.user_id and not user.is_superuser):
        raise NotificationNotFound()
    return DeliveryStatus(
        message_id=row.message_id,
        user_id=row.user_id,
        stored_at=as_utc(row.created_at),
        delivered_at=as_utc(row.delivered_at) if row.delivered_at else None,
        read_at=as_utc(row.read_at) if row.read_at else None,
    )
