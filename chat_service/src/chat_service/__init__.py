"""chat_service."""
