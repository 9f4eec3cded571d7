"""Clients race on the same orders (REST and sockets at once): pay against cancel from
created, ship against cancel from paid, several deliveries of a shipped order. Each step
has exactly one winner, every order's history is a chain of allowed transitions that
ends where the order is, and orders.events carries exactly the winners' transitions."""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Hashable
from itertools import permutations
from uuid import uuid4

import pytest

from bench.faults.checker import Ledger
from bench.faults.domain_events import Envelope, Identify, TopicLog
from bench.faults.domain_services import Domain
from bench.faults.orders_clients import Change, OrdersClient, OrdersRest, OrdersSocket
from shared.events.topics import ORDERS_EVENTS

# Raced from created (pay against cancel); then paid ones race to ship against cancel.
ORDERS = 200
# Paid before the races, so that shipping against cancelling has orders to race on
# (a paid order rarely survives the first race: cancel may follow pay).
PAID_ORDERS = 100
SOCKETS = 8
# Orders raced at once; each race sends every one of its attempts at the same moment.
RACES_IN_FLIGHT = 25
ROUNDS = {
    "created": ["paid", "cancelled", "paid", "cancelled"],
    "paid": ["shipped", "cancelled", "shipped", "cancelled"],
    "shipped": ["delivered", "delivered", "delivered"],
}
ALLOWED = {"created": {"paid", "cancelled"}, "paid": {"shipped", "cancelled"}}
ALLOWED["shipped"] = {"delivered"}
REFUSAL = re.compile(r"Cannot change status from '(\w+)' to '(\w+)'")

pytestmark = pytest.mark.timeout(600)


def _chain(winners: list[str]) -> list[tuple[str, str]]:
    """The one order of the winning targets that is a path of allowed steps from created.
    Two winners of one step (two "paid", or "shipped" and "cancelled" from paid) make
    no such path."""
    paths: set[tuple[tuple[str, str], ...]] = set()
    for order in permutations(winners):
        steps = tuple(zip(("created", *order[:-1]), order, strict=True))
        if all(after in ALLOWED.get(before, set()) for before, after in steps):
            paths.add(steps)
    assert len(paths) == 1, f"winners {winners} are not one chain of steps"
    return list(paths.pop())


def _transitions_of(tag: str) -> Identify:
    """Names an order.status_changed event of this run's orders as the ledger does."""

    def identify(envelope: Envelope) -> Hashable | None:
        data = envelope["data"]
        if envelope["type"] != "order.status_changed" or not data["customer"].startswith(tag):
            return None
        return f"{data['order_id']}:{data['previous_status']}->{data['status']}"

    return identify


async def _race(clients: list[OrdersClient], order_id: int, targets: list[str]) -> list[Change]:
    return list(
        await asyncio.gather(
            *(
                clients[(order_id + i) % len(clients)].change(order_id, t)
                for i, t in enumerate(targets)
            )
        )
    )


async def test_concurrent_pay_and_cancel_have_one_winner_per_step(domain: Domain) -> None:
    ledger = Ledger("orders: concurrent pay/cancel/ship/deliver, one winner per step")
    tag = f"race-{uuid4().hex[:8]}-"
    sockets = [OrdersSocket(domain.ws_url("orders_service")) for _ in range(SOCKETS)]
    async with domain.http("orders_service", max_connections=RACES_IN_FLIGHT * 2) as client:
        rest = OrdersRest(client)
        # REST and sockets alternate, so every race mixes both.
        clients: list[OrdersClient] = [c for s in sockets for c in (rest, s)]
        try:
            orders = await asyncio.gather(
                *(
                    clients[n % len(clients)].create(f"{tag}{n}")
                    for n in range(ORDERS + PAID_ORDERS)
                )
            )
            status = {order["id"]: "created" for order in orders}
            changes: dict[int, list[Change]] = defaultdict(list)
            for order in orders[ORDERS:]:
                paid = await rest.change(order["id"], "paid")
                assert paid.won
                changes[order["id"]].append(paid)
                status[order["id"]] = "paid"
            gate = asyncio.Semaphore(RACES_IN_FLIGHT)

            async def race(order_id: int, targets: list[str]) -> None:
                async with gate:
                    results = await _race(clients, order_id, targets)
                changes[order_id] += results
                won = [c for c in results if c.won]
                assert won, f"order {order_id}: nobody won from {status[order_id]}"
                status[order_id] = _chain([c.status for c in changes[order_id] if c.won])[-1][1]

            for before, targets in ROUNDS.items():
                await asyncio.gather(
                    *(race(order_id, targets) for order_id, now in status.items() if now == before)
                )
            finals = {o["id"]: await rest.get(o["id"]) for o in orders}
        finally:
            for s in sockets:
                await s.close()

    for order_id, results in changes.items():
        steps = _chain([c.status for c in results if c.won])
        for before, after in steps:
            ledger.send(f"{order_id}:{before}->{after}")
            ledger.acknowledge(f"{order_id}:{before}->{after}")
        assert finals[order_id]["status"] == steps[-1][1]
        assert finals[order_id]["version"] == 1 + len(steps)
        # A refusal names a status the order really had once someone won that step.
        had = {after for _, after in steps}
        for change in results:
            if not change.won:
                match = REFUSAL.fullmatch(change.refusal)
                assert match is not None, change.refusal
                assert match[1] in had, change.refusal
    attempts = sum(len(r) for r in changes.values())
    ended = Counter(o["status"] for o in finals.values())
    print(f"\n{attempts} attempts on {len(finals)} orders, {len(ledger.acknowledged)} won: {ended}")

    identify = _transitions_of(tag)
    async with TopicLog(domain.kafka, ORDERS_EVENTS) as events:
        await events.until_changes(identify, ledger.acknowledged, 120)
        await events.drain()
    ledger.receive(events.changes(identify))
    print(f"records on {events.topic} repeating an event_id: {events.raw_duplicates(identify)}")
    assert set(ledger.received) == ledger.acknowledged, "events of refused changes"
    ledger.assert_clean()
