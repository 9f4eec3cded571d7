"""Registration, login, token refresh, logout and verification."""
