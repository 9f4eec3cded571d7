"""Prometheus metrics shared by every service; each service adds its own beside these."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events published to Kafka")
OUTBOX_RELAY_ERRORS = Counter("outbox_relay_errors_total", "Failed outbox publish attempts")
KAFKA_CONSUMED = Counter("kafka_consumed_total", "Records consumed", ["topic"])
KAFKA_DEAD_LETTERED = Counter(
    "kafka_dead_lettered_total", "Records sent to a dead-letter topic", ["topic", "reason"]
)
KAFKA_LAG = Gauge("kafka_consumer_lag", "Records behind the partition end", ["topic"])
# Producer's timestamp to the consumer's poll: the broker's and the fetch's share of a
# record's latency, before the service does anything with it.
KAFKA_RECORD_AGE = Histogram(
    "kafka_record_age_seconds",
    "Age of a record when the consumer polled it",
    ["topic"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0, 30.0),
)
WS_CONNECTIONS = Gauge("ws_connections", "Open WebSocket connections", ["endpoint"])


def install_metrics(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
