"""Order rules: creation, visibility, status transitions and their events.

Functions here never commit: the caller owns the transaction, and each change writes
the order and its outbox event together (in one statement on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from orders_service.errors import InvalidTransition, OrderNotFound
from orders_service.models import OrderRecord, OrderStatus
from orders_service.orders import repository
from orders_service.orders.repository import HistoryRow, Visibility
from orders_service.orders.transitions import can_change, only_source
from shared.auth.tokens import TokenClaims
from shared.events.envelope import EventEnvelope
from shared.events.outbox import outbox_values

ORDER_CREATED = "order.created"
ORDER_STATUS_CHANGED = "order.status_changed"

Actor = TokenClaims | None
# A status check that lost a race re-reads the order; past this many the caller retries.
_MAX_ATTEMPTS = 5


def visibility(actor: Actor) -> Visibility:
    if actor is None:
        return Visibility(user_id=None)
    return Visibility(user_id=actor.user_id, everything=actor.is_superuser)


def _actor_id(actor: Actor) -> UUID | None:
    return None if actor is None else actor.user_id


def event_data(order: OrderRecord, *, previous: OrderStatus | None) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "customer": order.customer,
        "status": order.status.value,
        "previous_status": None if previous is None else previous.value,
        "owner_id": None if order.owner_id is None else str(order.owner_id),
    }


def _event(
    type: str, *, topic: str, actor: Actor, previous: OrderStatus | None
) -> repository.EventFor:
    def event_for(order: OrderRecord) -> dict[str, Any]:
        envelope = EventEnvelope(
            type=type, actor_id=_actor_id(actor), data=event_data(order, previous=previous)
        )
        return outbox_values(envelope, topic=topic, key=str(order.id))

    return event_for


async def create_order(
    connection: AsyncConnection, *, customer: str, actor: Actor, topic: str
) -> OrderRecord:
    return await repository.create_with_event(
        connection,
        customer=customer,
        owner_id=_actor_id(actor),
        event=_event(ORDER_CREATED, topic=topic, actor=actor, previous=None),
    )


async def get_order(connection: AsyncConnection, *, order_id: int, actor: Actor) -> OrderRecord:
    order = await repository.read(connection, order_id)
    if order is None or not visibility(actor).allows(order):
        raise OrderNotFound()
    return order


async def order_history(
    connection: AsyncConnection, *, order_id: int, actor: Actor
) -> Sequence[HistoryRow]:
    await get_order(connection, order_id=order_id, actor=actor)
    return await repository.history(connection, order_id)


def shown_actor(actor_id: UUID | None, viewer: Actor) -> UUID | None:
    """Who made a change is shown to superusers and to the one who made it; an
    anonymous order's history is anyone's to read, its actors are not."""
    if viewer is not None and (viewer.is_superuser or viewer.user_id == actor_id):
        return actor_id
    return None


async def list_orders(
    connection: AsyncConnection,
    *,
    actor: Actor,
    status: OrderStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[OrderRecord], int]:
    return await repository.page(
        connection, visibility=visibility(actor), status=status, limit=limit, offset=offset
    )


async def change_status(
    connection: AsyncConnection, *, order_id: int, target: OrderStatus, actor: Actor, topic: str
) -> tuple[OrderRecord, OrderStatus]:
    """Apply one transition; returns the order and its previous status.

    Every write is conditional on the status it moves from, so of many concurrent
    changes exactly one takes each step. A target with one possible source is tried on
    that status straight away; otherwise, or when that write matched nothing, the order
    is read to tell why (not found, not allowed from its status) or to try again on the
    status another change left.
    """
    allowed = visibility(actor)

    async def change(expected: OrderStatus) -> OrderRecord | None:
        return await repository.change_with_event(
            connection,
            order_id=order_id,
            expected=expected,
            target=target,
            visibility=allowed,
            event=_event(ORDER_STATUS_CHANGED, topic=topic, actor=actor, previous=expected),
        )

    source = only_source(target)
    if source is not None and (changed := await change(source)) is not None:
        return changed, source
    for _ in range(_MAX_ATTEMPTS):
        order = await get_order(connection, order_id=order_id, actor=actor)
        previous = order.status
        if not can_change(previous, target):
            raise InvalidTransition(previous.value, target.value)
        if (changed := await change(previous)) is not None:
            return changed, previous
    raise InvalidTransition(previous.value, target.value)
