"""The gateway's Prometheus metrics (consumer lag is shared ``kafka_consumer_lag``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTIONS = Gauge("notify_connections", "Open notification sockets on this instance")
DELIVERED = Counter("notify_delivered_total", "Frames written to sockets")
DEDUPLICATED = Counter("notify_deduplicated_total", "Notifications not pushed again", ["where"])
DROPPED = Counter("notify_dropped_total", "Sockets closed for not reading", ["reason"])
BAD_RECORDS = Counter("notify_bad_records_total", "Records skipped as invalid", ["reason"])
STORED = Counter("notify_stored_total", "Notifications stored in inboxes")
AUTH_CALLS = Counter("notify_auth_calls_total", "Calls to auth_service /verify", ["outcome"])
REJECTED_HANDSHAKES = Counter("notify_rejected_handshakes_total", "Handshakes refused", ["reason"])
