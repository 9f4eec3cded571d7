"""orders_service."""
