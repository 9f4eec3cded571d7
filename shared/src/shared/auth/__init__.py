"""Token issuing (auth_service only) and verification (every service)."""
