"""SQL over the orders table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Row,
    TextualSelect,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orders_service.models import Order, OrderStatus, OutboxEvent
from shared.db import utcnow


@dataclass(frozen=True)
class Visibility:
    """Which orders a caller sees: anonymous ones, their own, or (superusers) all."""

    user_id: UUID | None
    everything: bool = False

    def condition(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        if self.user_id is None:
            return Order.owner_id.is_(None)
        return or_(Order.owner_id.is_(None), Order.owner_id == self.user_id)

    def allows(self, order: Order) -> bool:
        return self.everything or order.owner_id is None or order.owner_id == self.user_id


# Every column of an order, in the order the statements below return them.
_COLUMNS = ("id", "customer", "status", "owner_id", "version", "created_at", "updated_at")
_SELECT = ", ".join(_COLUMNS)
_INSERT_EVENT = (
    "INSERT INTO outbox (event_id, topic, key, payload, correlation_id, created_at)"
    " SELECT :event_id, :topic, {key}, {payload}, :correlation_id, :now FROM {source}"
)


def _returning_order(sql: str) -> TextualSelect:
    """``sql`` as a statement whose rows are typed like the orders table's."""
    table = Order.__table__
    return text(sql).columns(*(table.c[name] for name in _COLUMNS))


# PostgreSQL: the order and its outbox row in one statement, which is its own transaction
# (one round trip instead of BEGIN, two INSERTs and COMMIT). The id is the database's to
# give, so the statement writes it into the event's key and payload.
_CREATE_WITH_EVENT = _returning_order(
    "WITH created AS ("
    " INSERT INTO orders (customer, status, owner_id, version, created_at, updated_at)"
    f" VALUES (:customer, :status, :owner_id, 1, :now, :now) RETURNING {_SELECT}"
    "), event AS ("
    + _INSERT_EVENT.format(
        key="CAST(created.id AS TEXT)",
        payload="CAST(jsonb_set(CAST(:payload AS JSONB), '{data,order_id}',"
        " to_jsonb(created.id)) AS TEXT)",
        source="created",
    )
    + f") SELECT {_SELECT} FROM created"
)

# PostgreSQL: the conditional UPDATE and its outbox row in one statement. A concurrent
# change of the same row makes it wait for that one's commit and re-check the status, so
# exactly one of them matches ``expected``; the event is written only if the row was.
_CHANGE_WITH_EVENT = _returning_order(
    "WITH changed AS ("
    " UPDATE orders SET status = :target, version = version + 1, updated_at = :now"
    f" WHERE id = :order_id AND status = :expected RETURNING {_SELECT}"
    "), event AS ("
    + _INSERT_EVENT.format(key=":key", payload=":payload", source="changed")
    + f") SELECT {_SELECT} FROM changed"
)

_READ = _returning_order(f"SELECT {_SELECT} FROM orders WHERE id = :order_id")

# The outbox row (its column values) of a change, from the order as the change leaves it.
EventFor = Callable[[Order], dict[str, Any]]


def _one_statement(connection: AsyncConnection) -> bool:
    """PostgreSQL writes a change and its event in one statement; SQLite (development)
    has no INSERT or UPDATE in a WITH clause and runs two in the caller's transaction."""
    return connection.dialect.name == "postgresql"


def _order(row: Row[Any]) -> Order:
    return Order(**row._mapping)


async def read(connection: AsyncConnection, order_id: int) -> Order | None:
    row = (await connection.execute(_READ, {"order_id": order_id})).one_or_none()
    return None if row is None else _order(row)


async def create_with_event(
    connection: AsyncConnection, *, customer: str, owner_id: UUID | None, event: EventFor
) -> Order:
    now = utcnow()
    order = Order(
        customer=customer,
        status=OrderStatus.CREATED,
        owner_id=owner_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    if _one_statement(connection):
        params = {"customer": customer, "status": order.status.value, "owner_id": owner_id}
        row = await connection.execute(_CREATE_WITH_EVENT, {**params, **event(order), "now": now})
        return _order(row.one())
    statement = insert(Order).values(
        {column: getattr(order, column) for column in _COLUMNS if column != "id"}
    )
    row = await connection.execute(statement.returning(*Order.__table__.c))
    created = _order(row.one())
    await connection.execute(insert(OutboxEvent).values(event(created)))
    return created


async def change_with_event(
    connection: AsyncConnection, *, order: Order, target: OrderStatus, event: EventFor
) -> Order | None:
    """Move ``order`` from the status it was read with to ``target`` and record the
    event; None (and no event) if another change got there first."""
    now = utcnow()
    if _one_statement(connection):
        after = Order(id=order.id, customer=order.customer, status=target, owner_id=order.owner_id)
        params = {"order_id": order.id, "expected": order.status.value, "target": target.value}
        row = await connection.execute(_CHANGE_WITH_EVENT, {**params, **event(after), "now": now})
        changed = row.one_or_none()
        return None if changed is None else _order(changed)
    statement = (
        update(Order)
        .where(Order.id == order.id, Order.status == order.status)
        .values(status=target, version=Order.version + 1, updated_at=now)
        .returning(*Order.__table__.c)
    )
    changed = (await connection.execute(statement)).one_or_none()
    if changed is None:
        return None
    after = _order(changed)
    await connection.execute(insert(OutboxEvent).values(event(after)))
    return after


async def page(
    session: AsyncSession,
    *,
    visibility: Visibility,
    status: OrderStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[Order], int]:
    conditions = [visibility.condition()]
    if status is not None:
        conditions.append(Order.status == status)
    total = await session.scalar(select(func.count()).select_from(Order).where(*conditions))
    rows = await session.scalars(
        select(Order).where(*conditions).order_by(Order.id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)
