"""auth_service settings (env prefix ``AUTH_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import VAR_DIR, ServiceSettings

# The Swagger pages of every local service log in here ("Authorize"), so they may call it.
LOCAL_ORIGINS = [
    f"http://{host}:{port}"
    for host in ("localhost", "127.0.0.1")
    for port in (8000, 8001, 8002, 8003)
]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTH_", env_file=".env", extra="ignore", frozen=True
    )

    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/auth_service.db"
    kafka_client_id: str = "auth_service"
    cors_origins: list[str] = Field(default_factory=lambda: list(LOCAL_ORIGINS))

    # The RSA private key (PEM). Required in production; in development a key is
    # generated into ``signing_key_path`` on first run and reused afterwards.
    signing_key_pem: SecretStr | None = None
    signing_key_path: Path = VAR_DIR / "auth_signing_key.pem"
    # Key rotation: keys signed with before (PEM, as a JSON list). Their public halves
    # stay in the JWKS and their tokens stay valid until they expire; nothing new is
    # signed with them.
    previous_signing_keys_pem: list[SecretStr] = Field(default_factory=list)

    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)

    # Ended sessions are deleted this often; revoked ones are kept this long first.
    session_purge_interval_seconds: int = Field(default=3600, ge=1)
    revoked_session_retention_seconds: int = Field(default=7 * 24 * 3600, ge=0)

    # argon2id; the floor is OWASP's minimum (19 MiB, 2 passes, 1 lane).
    argon2_memory_kib: int = Field(default=19456, ge=19456)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)
    # Hashes running at once: each takes ``argon2_memory_kib`` and a core.
    password_hash_concurrency: int = Field(default=4, ge=1)
    password_min_length: int = Field(default=8, ge=8)
    password_max_length: int = Field(default=128, ge=16, le=1024)

    # Failed logins tolerated per window before further attempts get 429: on one account
    # from one address, on one account from all addresses, from one address on any.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_account_all_addresses: int = Field(default=100, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    login_failure_window_seconds: int = Field(default=300, ge=1)
    # Accounts created per client address per window.
    registrations_per_address: int = Field(default=20, ge=1)
    registration_window_seconds: int = Field(default=3600, ge=1)
    redis_key_prefix: str = "auth:"

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.signing_key_pem is None:
            problems.append("AUTH_SIGNING_KEY_PEM is unset; a generated key is for development")
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
