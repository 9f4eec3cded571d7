"""The seed's transition table, pair by pair."""

from __future__ import annotations

from itertools import product

import pytest

from orders_service.models import OrderStatus
from orders_service.orders.transitions import can_change

ALLOWED = {
    ("created", "paid"),
    ("created", "cancelled"),
    ("paid", "shipped"),
    ("paid", "cancelled"),
    ("shipped", "delivered"),
}


@pytest.mark.parametrize(("current", "target"), list(product(OrderStatus, OrderStatus)))
def test_only_the_seeds_transitions_are_allowed(current: OrderStatus, target: OrderStatus) -> None:
    assert can_change(current, target) == ((current.value, target.value) in ALLOWED)
