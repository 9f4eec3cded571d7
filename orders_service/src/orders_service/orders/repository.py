"""SQL over the orders table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
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
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import KeyedColumnElement

from orders_service.models import Order, OrderRecord, OrderStatus, OutboxEvent, StatusChange
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

    def allows(self, order: OrderRecord) -> bool:
        return self.everything or order.owner_id is None or order.owner_id == self.user_id


# Every column of an order, in the order the statements below return them (the record's).
_COLUMNS = tuple(field.name for field in fields(OrderRecord))
_SELECT = ", ".join(_COLUMNS)


def _table_columns() -> list[KeyedColumnElement[Any]]:
    """The orders table's columns in OrderRecord's order."""
    return [Order.__table__.c[name] for name in _COLUMNS]


def _returning_order(sql: str) -> TextualSelect:
    """``sql`` as a statement whose rows are typed like the orders table's."""
    return text(sql).columns(*_table_columns())


# PostgreSQL writes a change and its outbox row in one statement, which is its own
# transaction (one round trip instead of BEGIN, the writes and COMMIT). The row the
# change ``written`` gives its id, customer and owner to the event's key and payload
# (the database gives the id; a transition need not read the order first).
_INSERT_EVENT = (
    "INSERT INTO outbox (event_id, topic, key, payload, correlation_id, created_at)"
    " SELECT :event_id, :topic, CAST(written.id AS TEXT),"
    " CAST(jsonb_set(jsonb_set(jsonb_set(CAST(:payload AS JSONB),"
    " '{data,order_id}', to_jsonb(written.id)),"
    " '{data,customer}', to_jsonb(written.customer)),"
    " '{data,owner_id}', COALESCE(to_jsonb(CAST(written.owner_id AS TEXT)), 'null'))"
    " AS TEXT), :correlation_id, :now FROM written"
)

# The status the change left, in the order's history.
_INSERT_HISTORY = (
    "INSERT INTO order_status_changes (order_id, version, status, actor_id, changed_at)"
    " SELECT written.id, written.version, written.status, :actor_id, :now FROM written"
)

_CREATE_WITH_EVENT = _returning_order(
    "WITH written AS ("
    " INSERT INTO orders (customer, status, owner_id, version, created_at, updated_at)"
    f" VALUES (:customer, :status, :owner_id, 1, :now, :now) RETURNING {_SELECT}"
    f"), event AS ({_INSERT_EVENT}), history AS ({_INSERT_HISTORY})"
    f" SELECT {_SELECT} FROM written"
)

# The UPDATE is conditional on the status and on who may change the order (as
# Visibility.condition). A concurrent change of the same row makes it wait for that one's
# commit and re-check, so exactly one of them matches ``expected``; the event is written
# only if the row was.
_CHANGE_WITH_EVENT = _returning_order(
    "WITH written AS ("
    " UPDATE orders SET status = :target, version = version + 1, updated_at = :now"
    " WHERE id = :order_id AND status = :expected"
    " AND (owner_id IS NULL OR owner_id = :user_id OR :everything)"
    f" RETURNING {_SELECT}"
    f"), event AS ({_INSERT_EVENT}), history AS ({_INSERT_HISTORY})"
    f" SELECT {_SELECT} FROM written"
)

_READ = _returning_order(f"SELECT {_SELECT} FROM orders WHERE id = :order_id")

# The outbox row (its column values) of a change, from the order as the change leaves it.
# On PostgreSQL the statement overwrites the row's own fields (id, customer, owner).
EventFor = Callable[[OrderRecord], dict[str, Any]]


def _one_statement(connection: AsyncConnection) -> bool:
    """PostgreSQL writes a change and its event in one statement; SQLite (development)
    has no INSERT or UPDATE in a WITH clause and runs two in the caller's transaction."""
    return connection.dialect.name == "postgresql"


def _record(row: Row[Any]) -> OrderRecord:
    values: tuple[Any, ...] = tuple(row)  # the columns of _COLUMNS
    return OrderRecord(*values)


async def read(connection: AsyncConnection, order_id: int) -> OrderRecord | None:
    row = (await connection.execute(_READ, {"order_id": order_id})).one_or_none()
    return None if row is None else _record(row)


async def create_with_event(
    connection: AsyncConnection, *, customer: str, owner_id: UUID | None, event: EventFor
) -> OrderRecord:
    now = utcnow()
    if _one_statement(connection):
        pending = OrderRecord(0, customer, OrderStatus.CREATED, owner_id, 1, now, now)
        params = {
            "customer": customer,
            "status": OrderStatus.CREATED.value,
            "owner_id": owner_id,
            "actor_id": owner_id,
        }
        row = await connection.execute(_CREATE_WITH_EVENT, {**params, **event(pending), "now": now})
        return _record(row.one())
    statement = insert(Order).values(
        customer=customer,
        status=OrderStatus.CREATED,
        owner_id=owner_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    row = await connection.execute(statement.returning(*_table_columns()))
    created = _record(row.one())
    await connection.execute(insert(OutboxEvent).values(event(created)))
    await _add_history(connection, created, owner_id, now)
    return created


async def change_with_event(
    connection: AsyncConnection,
    *,
    order_id: int,
    expected: OrderStatus,
    target: OrderStatus,
    visibility: Visibility,
    event: EventFor,
) -> OrderRecord | None:
    """Move the order from ``expected`` to ``target`` and record the event; None (and no
    event) if it is not in ``expected`` (any more), does not exist or is not the caller's."""
    now = utcnow()
    if _one_statement(connection):
        # Customer and owner unknown here: the statement writes the row's into the event.
        pending = OrderRecord(order_id, "", target, None, 0, now, now)
        params = {
            "order_id": order_id,
            "expected": expected.value,
            "target": target.value,
            "user_id": visibility.user_id,
            "everything": visibility.everything,
            "actor_id": visibility.user_id,
        }
        row = await connection.execute(_CHANGE_WITH_EVENT, {**params, **event(pending), "now": now})
        changed = row.one_or_none()
        return None if changed is None else _record(changed)
    statement = (
        update(Order)
        .where(Order.id == order_id, Order.status == expected, visibility.condition())
        .values(status=target, version=Order.version + 1, updated_at=now)
        .returning(*_table_columns())
    )
    changed = (await connection.execute(statement)).one_or_none()
    if changed is None:
        return None
    after = _record(changed)
    await connection.execute(insert(OutboxEvent).values(event(after)))
    await _add_history(connection, after, visibility.user_id, now)
    return after


async def _add_history(
    connection: AsyncConnection, order: OrderRecord, actor_id: UUID | None, now: datetime
) -> None:
    values = {"version": order.version, "status": order.status, "actor_id": actor_id}
    await connection.execute(
        insert(StatusChange).values(order_id=order.id, changed_at=now, **values)
    )


HistoryRow = Row[int, OrderStatus, UUID | None, datetime]


async def history(connection: AsyncConnection, order_id: int) -> Sequence[HistoryRow]:
    """The order's statuses (version, status, actor_id, changed_at), oldest first."""
    statement = (
        select(
            StatusChange.version,
            StatusChange.status,
            StatusChange.actor_id,
            StatusChange.changed_at,
        )
        .where(StatusChange.order_id == order_id)
        .order_by(StatusChange.version)
    )
    return (await connection.execute(statement)).all()


async def page(
    connection: AsyncConnection,
    *,
    visibility: Visibility,
    status: OrderStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[OrderRecord], int]:
    conditions = [visibility.condition()]
    if status is not None:
        conditions.append(Order.status == status)
    total = await connection.scalar(select(func.count()).select_from(Order).where(*conditions))
    rows = await connection.execute(
        select(*_table_columns()).where(*conditions).order_by(Order.id).limit(limit).offset(offset)
    )
    return [_record(row) for row in rows], int(total or 0)
