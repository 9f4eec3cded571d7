"""Topic names: the one place they are spelled."""

AUTH_EVENTS = "auth.events"
CHAT_EVENTS = "chat.events"
ORDERS_EVENTS = "orders.events"
NOTIFICATION_SEND = "notification.send"

ALL_TOPICS = (AUTH_EVENTS, CHAT_EVENTS, ORDERS_EVENTS, NOTIFICATION_SEND)


def dead_letter(topic: str) -> str:
    """Where records of ``topic`` that cannot be handled are parked."""
    return f"{topic}.dlq"
