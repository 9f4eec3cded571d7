"""Kafka handlers: ``notification.send`` and the domain topics, batch by batch.

Each batch is stored before the consumer commits its offsets (at-least-once); records
that can never be handled are returned as rejected and land on ``<topic>.dlq``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from notify_ws_service.ingest.domain_events import notifications_for
from notify_ws_service.ingest.records import NewNotification, parse_notification
from notify_ws_service.ingest.service import Ingestor
from notify_ws_service.metrics import BAD_RECORDS
from shared.events.envelope import EventEnvelope
from shared.kafka import InvalidRecord, Rejected
from shared.logging import get_logger

log = get_logger(__name__)


class NotificationHandler:
    def __init__(self, ingestor: Ingestor, *, max_record_bytes: int) -> None:
        self._ingestor = ingestor
        self._max_bytes = max_record_bytes

    async def __call__(self, records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
        good: list[NewNotification] = []
        rejected: list[Rejected] = []
        for record in records:
            try:
                good.append(parse_notification(record.value, max_bytes=self._max_bytes))
            except InvalidRecord as exc:
                BAD_RECORDS.labels(exc.reason).inc()
                rejected.append(Rejected.of(record, exc))
        await self._ingestor.ingest(good)
        return rejected


class DomainEventHandler:
    def __init__(self, ingestor: Ingestor, *, max_record_bytes: int) -> None:
        self._ingestor = ingestor
        self._max_bytes = max_record_bytes

    async def __call__(self, records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
        good: list[NewNotification] = []
        rejected: list[Rejected] = []
        for record in records:
            value = record.value or b""
            if len(value) > self._max_bytes * 4:
                BAD_RECORDS.labels("oversized").inc()
                rejected.append(Rejected(record, "oversized"))
                continue
            try:
                event = EventEnvelope.model_validate_json(value)
            except ValidationError:
                BAD_RECORDS.labels("invalid_envelope").inc()
                rejected.append(Rejected(record, "invalid_envelope"))
                continue
            good.extend(notifications_for(event))
        await self._ingestor.ingest(good)
        return rejected
