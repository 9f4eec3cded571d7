"""Test support: real PostgreSQL, Redis and a broker, and apps served over real sockets."""
