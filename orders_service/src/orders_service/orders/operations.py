"""What REST and the socket both call: one transaction per change, then the broadcast.

The order and its outbox event commit together; only then does the change go out to
sockets and the relay get woken, so REST, broadcasts and ``orders.events`` agree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orders_service.broadcast.bus import Bus
from orders_service.broadcast.messages import OrderBroadcast
from orders_service.models import OrderRecord, OrderStatus
from orders_service.orders import service
from orders_service.orders.repository import HistoryRow
from orders_service.orders.service import Actor
from shared.logging import get_logger

log = get_logger(__name__)


class OrderOperations:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        bus: Bus,
        topic: str,
        on_commit: Callable[[], None],
    ) -> None:
        # On PostgreSQL a change is one statement: its own transaction, no BEGIN/COMMIT.
        self._autocommit = engine.dialect.name == "postgresql"
        self._engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if self._autocommit else engine
        )
        self._bus = bus
        self._topic = topic
        self._on_commit = on_commit

    async def create(self, *, customer: str, actor: Actor) -> OrderRecord:
        async with self._change() as connection:
            order = await service.create_order(
                connection, customer=customer, actor=actor, topic=self._topic
            )
        log.info("order.created", order_id=order.id, owned=order.owner_id is not None)
        self._committed(OrderBroadcast.of("order_created", order))
        return order

    async def change_status(
        self, *, order_id: int, status: OrderStatus, actor: Actor
    ) -> OrderRecord:
        async with self._change() as connection:
            order, previous = await service.change_status(
                connection, order_id=order_id, target=status, actor=actor, topic=self._topic
            )
        log.info("order.status_changed", order_id=order.id, previous=previous, status=order.status)
        self._committed(OrderBroadcast.of("order_status_changed", order))
        return order

    async def get(self, *, order_id: int, actor: Actor) -> OrderRecord:
        async with self._engine.connect() as connection:
            return await service.get_order(connection, order_id=order_id, actor=actor)

    async def history(self, *, order_id: int, actor: Actor) -> Sequence[HistoryRow]:
        async with self._engine.connect() as connection:
            return await service.order_history(connection, order_id=order_id, actor=actor)

    async def page(
        self, *, actor: Actor, status: OrderStatus | None, limit: int, offset: int
    ) -> tuple[list[OrderRecord], int]:
        async with self._engine.connect() as connection:
            return await service.list_orders(
                connection, actor=actor, status=status, limit=limit, offset=offset
            )

    @asynccontextmanager
    async def _change(self) -> AsyncIterator[AsyncConnection]:
        """Where a change runs: PostgreSQL commits each statement; SQLite gets a
        transaction around the change's statements."""
        if self._autocommit:
            async with self._engine.connect() as connection:
                yield connection
        else:
            async with self._engine.begin() as connection:
                yield connection

    def _committed(self, message: OrderBroadcast) -> None:
        self._on_commit()
        self._bus.publish(message)
