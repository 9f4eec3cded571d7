"""What a change costs the database: the order and its event are written by one statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_service.main import create_app
from orders_service.runtime import Runtime
from shared.devbroker import free_port
from shared.testing.server import serve
from tests.conftest import SettingsFactory
from tests.support import outbox_events


@contextmanager
def statements_of_changes(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run inside the block that touch orders or write events (the
    relay's reads and deletes of the outbox are left out)."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        if "orders" in args[2] or "INSERT INTO outbox" in args[2]:
            statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


class TestStatementsPerChange:
    async def test_a_change_is_one_statement_and_a_cancel_reads_first(
        self, make_settings: SettingsFactory, database_url: str
    ) -> None:
        # No broker: the outbox keeps the events for the test to read.
        app = create_app(make_settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}"))
        runtime: Runtime = app.state.runtime
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=15) as client:
            with statements_of_changes(runtime.engine) as statements:
                created = await client.post("/api/v1/orders", json={"customer": "Yulia"})
                assert created.status_code == 201
                assert len(statements) == 1
                # "paid" comes only from "created": the write checks it, nothing is read.
                paid = await client.post("/api/v1/orders/1/status", json={"status": "paid"})
                assert paid.status_code == 200
                assert len(statements) == 2
                # "cancelled" comes from "created" or "paid": the order is read first.
                cancelled = await client.post(
                    "/api/v1/orders/1/status", json={"status": "cancelled"}
                )
                assert cancelled.json()["status"] == "cancelled"
                assert len(statements) == 4
        events = await outbox_events(database_url)
        assert [(key, envelope["type"]) for key, envelope in events] == [
            ("1", "order.created"),
            ("1", "order.status_changed"),
            ("1", "order.status_changed"),
        ]
        assert [envelope["data"] for _, envelope in events] == [
            {
                "order_id": 1,
                "customer": "Yulia",
                "status": status,
                "previous_status": previous,
                "owner_id": None,
            }
            for status, previous in [("created", None), ("paid", "created"), ("cancelled", "paid")]
        ]
