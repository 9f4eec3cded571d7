"""Reading one notification.send record: what is refused, and why."""

from __future__ import annotations

from uuid import uuid4

import pytest

from notify_ws_service.ingest.records import parse_notification
from shared.kafka import InvalidRecord
from tests.support import notification


class TestParseNotification:
    def test_a_good_record(self) -> None:
        user_id = uuid4()
        parsed = parse_notification(notification(user_id, "s", "c"), max_bytes=32_768)
        assert (parsed.user_id, parsed.title, parsed.body) == (user_id, "s", "c")

    # Each of these stalled the consumer: the exception escaped (deep nesting) or the
    # batch's insert failed on every retry (NUL).
    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            (b"[" * 5_000 + b"]" * 5_000, "not_json"),
            (notification(uuid4(), subject="a\x00b"), "invalid_fields"),
            (notification(uuid4(), content="\x00"), "invalid_fields"),
        ],
    )
    def test_records_that_cannot_be_stored_are_refused(self, value: bytes, reason: str) -> None:
        with pytest.raises(InvalidRecord) as refused:
            parse_notification(value, max_bytes=32_768)
        assert refused.value.reason == reason
