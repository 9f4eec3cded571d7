"""Prometheus metrics: connections, delivered, deduplicated, dropped, bad records, lag."""

from __future__ import annotations

import httpx

from tests.support import Served

EXPECTED = (
    "notify_connections",
    "notify_delivered_total",
    "notify_deduplicated_total",
    "notify_dropped_total",
    "notify_bad_records_total",
    "notify_stored_total",
    "notify_auth_calls_total",
    "kafka_consumer_lag",
)


async def test_metrics_are_exposed(gateway: Served) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    for name in EXPECTED:
        assert f"# HELP {name} " in response.text, name
