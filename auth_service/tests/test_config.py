"""Settings: production refuses development-only values."""

from __future__ import annotations

from typing import Any

import pytest

from auth_service.config import Settings
from shared.auth.tokens import SigningKey
from shared.config import Environment


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


PRODUCTION: dict[str, Any] = {
    "environment": Environment.PRODUCTION,
    "database_url": "postgresql+asyncpg://auth@db/auth",
    "redis_url": "redis://redis:6379/0",
}


def test_production_requires_a_configured_signing_key() -> None:
    # pydantic wraps the InsecureSettingsError in its ValidationError (a ValueError).
    with pytest.raises(ValueError, match="AUTH_SIGNING_KEY_PEM"):
        make(**PRODUCTION)


def test_production_with_a_signing_key_is_accepted() -> None:
    pem = SigningKey.generate().private_pem.decode()
    settings = make(signing_key_pem=pem, **PRODUCTION)
    assert settings.is_production


@pytest.mark.parametrize(
    "override",
    [{"argon2_memory_kib": 1024}, {"argon2_time_cost": 1}, {"password_min_length": 4}],
)
def test_weaker_than_owasp_is_refused(override: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="greater than or equal"):
        make(**override)


def test_defaults_match_the_contract() -> None:
    settings = make()
    assert settings.port == 8003
    assert settings.access_token_ttl_seconds == 900
    assert settings.database_url == "sqlite+aiosqlite:///var/auth_service.db"
    assert "http://localhost:8000" in settings.cors_origins
