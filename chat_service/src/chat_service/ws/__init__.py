"""The WebSocket protocols: ``/ws`` (one socket per user) and seed 000's endpoints."""
