"""Messages: send (idempotent, gap-free seq), page, edit, delete, read marks."""
