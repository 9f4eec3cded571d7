"""notify_ws_service."""
