"""Fan-out of socket events to every socket of a user, on every instance."""
