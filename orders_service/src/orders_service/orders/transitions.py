"""Which status may follow which: the one place the seed's transition table lives."""

from __future__ import annotations

from collections.abc import Mapping

from orders_service.models import OrderStatus

TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.CREATED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def can_change(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


def only_source(target: OrderStatus) -> OrderStatus | None:
    """The one status ``target`` can be reached from; None if there are several."""
    sources = [current for current, targets in TRANSITIONS.items() if target in targets]
    return sources[0] if len(sources) == 1 else None
