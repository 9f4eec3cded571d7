"""Kafka topics, the event envelope, the transactional outbox and its relay."""
