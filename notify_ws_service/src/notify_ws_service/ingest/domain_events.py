"""Domain events that become notifications: the one place the mapping lives.

A new chat message notifies every member but its sender and those who muted the chat;
an order's creation or status change notifies the order's owner (anonymous orders
notify nobody). Each notification's message_id is derived from the event id and the
recipient, so a redelivered event is stored once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid5

from notify_ws_service.ingest.records import NewNotification
from shared.events.envelope import EventEnvelope

Mapper = Callable[[EventEnvelope], list[NewNotification]]

TITLE_MAX = 200
BODY_MAX = 1000


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _uuids(values: object) -> set[UUID]:
    found = (_uuid(v) for v in values) if isinstance(values, list) else ()
    return {u for u in found if u is not None}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _notify(event: EventEnvelope, user_id: UUID, *, title: str, body: str) -> NewNotification:
    return NewNotification(
        message_id=uuid5(event.event_id, str(user_id)),
        user_id=user_id,
        type=event.type,
        title=_clip(title, TITLE_MAX),
        body=_clip(body, BODY_MAX),
    )


def chat_message_created(event: EventEnvelope) -> list[NewNotification]:
    data = event.data
    sender = _uuid(data.get("sender_id")) or event.actor_id
    members = _uuids(data.get("member_ids")) - _uuids(data.get("muted_ids"))
    chat_name = str(data.get("chat_name") or "a chat")
    sender_name = str(data.get("sender_name") or "someone")
    title = f"{sender_name} in {chat_name}"
    body = str(data.get("text") or "") or _attachments_line(data.get("attachments"))
    return [
        _notify(event, member, title=title, body=body)
        for member in sorted(members, key=str)
        if member != sender
    ]


def _attachments_line(attachments: object) -> str:
    """The body of a message sent without text: what it carries."""
    if not isinstance(attachments, list) or not attachments:
        return ""
    first = attachments[0]
    name = str(first.get("filename") or "a file") if isinstance(first, dict) else "a file"
    more = len(attachments) - 1
    return f"Sent {name}" + (f" and {more} more" if more else "")


def order_changed(event: EventEnvelope) -> list[NewNotification]:
    data = event.data
    owner = _uuid(data.get("owner_id"))
    if owner is None:
        return []
    order = str(data.get("order_id") or "")
    status = str(data.get("status") or "")
    customer = str(data.get("customer") or "")
    if event.type == "order.created":
        title = "Order created"
        body = f"Order {order} for {customer} is {status or 'created'}"
    else:
        previous = data.get("previous_status")
        title = f"Order {status}"
        change = f"from {previous} to {status}" if previous else f"to {status}"
        body = f"Order {order} for {customer} changed {change}"
    return [_notify(event, owner, title=title, body=body)]


MAPPERS: dict[str, Mapper] = {
    "chat.message_created": chat_message_created,
    "order.created": order_changed,
    "order.status_changed": order_changed,
}


def notifications_for(event: EventEnvelope) -> list[NewNotification]:
    """The notifications an event causes; events of other types cause none."""
    mapper = MAPPERS.get(event.type)
    return mapper(event) if mapper is not None else []
