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
