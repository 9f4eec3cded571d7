"""chat_service's own metrics, beside the shared HTTP, outbox and socket ones."""

from __future__ import annotations

from prometheus_client import Counter

MESSAGES_SENT = Counter("chat_messages_sent_total", "Messages stored (retries excluded)")
WS_FRAMES_REFUSED = Counter("chat_ws_frames_refused_total", "Socket frames refused", ["reason"])
