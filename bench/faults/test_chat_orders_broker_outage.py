"""The broker is unreachable for 15 s (its network path cut, not restarted) while chat and
orders take writes over REST and sockets. Writes keep succeeding (the outbox holds their
events); once the path is back every acknowledged change's event reaches chat.events /
orders.events, each once as a consumer idempotent by event_id sees it. Records that repeat
an event_id (the relay is at-least-once) are counted and printed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AsyncExitStack
from uuid import uuid4

import pytest

from bench.faults.chat_clients import (
    ChatRest,
    ChatSocket,
    Sender,
    SendFailed,
    messages_created,
)
from bench.faults.checker import Ledger
from bench.faults.domain_events import Envelope, Identify, TopicLog
from bench.faults.domain_services import Domain, count_rows
from bench.faults.orders_clients import OrderCallFailed, OrdersClient, OrdersRest, OrdersSocket
from shared.events.topics import CHAT_EVENTS, ORDERS_EVENTS

BEFORE, OUTAGE, AFTER = 3.0, 15.0, 3.0
CHAT_SENDERS = 4
ORDER_CLIENTS = 4
PAUSE = 0.05
# An order's life: created, then these (every third one is cancelled instead).
LIFE = ["paid", "shipped", "delivered"]

pytestmark = pytest.mark.timeout(600)


class Writers:
    """Clients that write until told to stop; a failed write is counted, not retried, so
    a single failure during the outage shows."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.failures: list[str] = []
        self.during_outage = 0
        self.outage = False

    async def loop(self, write: Callable[[int], Awaitable[None]]) -> None:
        number = 0
        while not self.stop.is_set():
            try:
                await write(number)
            except (SendFailed, OrderCallFailed) as exc:
                self.failures.append(str(exc))
            else:
                self.during_outage += self.outage
            number += 1
            await asyncio.sleep(PAUSE)


def chat_writer(sender: Sender, chat_id: str, ledger: Ledger) -> Callable[[int], Awaitable[None]]:
    async def write(number: int) -> None:
        key = f"{sender.user.display_name}-m{number}"
        ledger.send(key)
        await sender.send(chat_id, key, key)
        ledger.acknowledge(key)

    return write


def order_writer(
    client: OrdersClient, tag: str, ledger: Ledger
) -> Callable[[int], Awaitable[None]]:
    async def write(number: int) -> None:
        customer = f"{tag}{number}"
        ledger.send(f"{customer}/created")
        order = await client.create(customer)
        ledger.acknowledge(f"{customer}/created")
        for status in ["cancelled"] if number % 3 == 0 else LIFE:
            ledger.send(f"{customer}/{status}")
            change = await client.change(order["id"], status)
            if not change.won:
                raise OrderCallFailed(change.refusal)
            ledger.acknowledge(f"{customer}/{status}")

    return write


by_text = messages_created("outage")


def by_change(envelope: Envelope) -> Hashable | None:
    data = envelope["data"]
    customer: str = data["customer"]
    return f"{customer}/{data['status']}" if customer.startswith("outage") else None


async def _recover(log: TopicLog, identify: Identify, ledger: Ledger) -> None:
    """Wait until every change acknowledged so far is on the topic: the recovery time."""
    await log.until_changes(identify, set(ledger.acknowledged), 120)
    ledger.recovered()


async def test_writes_during_a_broker_outage_reach_kafka_once_it_is_back(domain: Domain) -> None:
    proxy = domain.proxy
    assert proxy is not None
    chat = Ledger("chat.events: broker unreachable 15 s")
    orders = Ledger("orders.events: broker unreachable 15 s")
    writers = Writers()
    users = await domain.users("outage", CHAT_SENDERS)
    async with AsyncExitStack() as stack:
        chat_http = await stack.enter_async_context(domain.http("chat_service"))
        orders_http = await stack.enter_async_context(domain.http("orders_service"))
        chat_id = await ChatRest(chat_http, users[0]).create_chat("outage", users[1:])
        chat_sockets = [ChatSocket(domain.ws_url("chat_service"), u) for u in users[1::2]]
        order_sockets = [
            OrdersSocket(domain.ws_url("orders_service")) for _ in range(ORDER_CLIENTS // 2)
        ]
        for socket in (*chat_sockets, *order_sockets):
            stack.push_async_callback(socket.close)
        senders: list[Sender] = [*(ChatRest(chat_http, u) for u in users[::2]), *chat_sockets]
        order_clients: list[OrdersClient] = [
            *(OrdersRest(orders_http) for _ in range(ORDER_CLIENTS // 2)),
            *order_sockets,
        ]
        running = asyncio.gather(
            *(writers.loop(chat_writer(s, chat_id, chat)) for s in senders),
            *(
                writers.loop(order_writer(c, f"outage-{i}-{uuid4().hex[:6]}-", orders))
                for i, c in enumerate(order_clients)
            ),
        )
        try:
            await asyncio.sleep(BEFORE)
            proxy.cut()
            writers.outage = True
            await asyncio.sleep(OUTAGE)
            held = {
                s: await count_rows(domain.suite.databases[s], "outbox")
                for s in ("chat_service", "orders_service")
            }
            proxy.restore()
            writers.outage = False
            chat.fault_ended()
            orders.fault_ended()
            chat_log = await stack.enter_async_context(TopicLog(domain.kafka, CHAT_EVENTS))
            orders_log = await stack.enter_async_context(TopicLog(domain.kafka, ORDERS_EVENTS))
            await asyncio.gather(
                _recover(chat_log, by_text, chat), _recover(orders_log, by_change, orders)
            )
            await asyncio.sleep(AFTER)
        finally:
            writers.stop.set()
            await running
        print(
            f"\nwrites acknowledged during the outage: {writers.during_outage}; "
            f"failed: {len(writers.failures)}; outbox rows when the path came back: {held}"
        )
        for log, identify, ledger in ((chat_log, by_text, chat), (orders_log, by_change, orders)):
            await log.until_changes(identify, ledger.acknowledged, 120)
            await log.drain()
            ledger.receive(log.changes(identify))
            print(f"records on {log.topic} repeating an event_id: {log.raw_duplicates(identify)}")
    assert writers.failures == []
    assert writers.during_outage > 0
    chat.assert_clean()
    orders.assert_clean()
