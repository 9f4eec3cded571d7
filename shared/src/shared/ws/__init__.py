"""WebSocket conventions shared by every socket endpoint of the suite."""
