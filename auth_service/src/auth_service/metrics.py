"""auth_service's own Prometheus metrics, beside shared's HTTP and outbox ones."""

from __future__ import annotations

from prometheus_client import Counter

LOGINS = Counter("auth_logins_total", "Login attempts by outcome", ["outcome"])
REFRESHES = Counter("auth_refreshes_total", "Refresh token exchanges by outcome", ["outcome"])
REGISTRATIONS = Counter("auth_registrations_total", "Accounts created")
