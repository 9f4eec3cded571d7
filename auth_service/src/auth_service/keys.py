"""Where the token signing key comes from."""

from __future__ import annotations

from pydantic import SecretStr

from auth_service.config import Settings
from shared.auth.tokens import SigningKey
from shared.logging import get_logger

log = get_logger(__name__)


def _from_setting(value: SecretStr) -> SigningKey:
    pem = value.get_secret_value()
    if "\n" not in pem:
        # Environments that cannot hold a multi-line value pass it with "\n" escapes.
        pem = pem.replace("\\n", "\n")
    return SigningKey.from_pem(pem.encode())


def load_previous_keys(settings: Settings) -> list[SigningKey]:
    return [_from_setting(value) for value in settings.previous_signing_keys_pem]


def load_signing_key(settings: Settings) -> SigningKey:
    """The configured PEM, else (outside production) a key kept under ``var/``."""
    if settings.signing_key_pem is not None:
        return _from_setting(settings.signing_key_pem)
    if settings.is_production:  # the settings refuse this already; never sign with a temp key
        raise RuntimeError("AUTH_SIGNING_KEY_PEM is required in production")
    created = not settings.signing_key_path.exists()
    key = SigningKey.load_or_create(settings.signing_key_path)
    if created:
        log.info("signing_key.generated", path=str(settings.signing_key_path), kid=key.kid)
    return key
