"""Where the signing key comes from."""

from __future__ import annotations

from pathlib import Path

from auth_service.keys import load_signing_key
from shared.auth.tokens import SigningKey
from tests.conftest import MakeSettings


def test_a_development_key_is_generated_once_and_kept(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "key.pem"
    first = load_signing_key(make_settings(signing_key_path=path))
    second = load_signing_key(make_settings(signing_key_path=path))
    assert path.stat().st_mode & 0o777 == 0o600
    assert first.kid == second.kid


def test_the_configured_pem_wins(make_settings: MakeSettings, tmp_path: Path) -> None:
    key = SigningKey.generate()
    settings = make_settings(
        signing_key_pem=key.private_pem.decode(), signing_key_path=tmp_path / "unused.pem"
    )
    assert load_signing_key(settings).kid == key.kid
    assert not (tmp_path / "unused.pem").exists()


def test_a_pem_with_escaped_newlines_is_accepted(make_settings: MakeSettings) -> None:
    key = SigningKey.generate()
    escaped = key.private_pem.decode().replace("\n", "\\n")
    assert load_signing_key(make_settings(signing_key_pem=escaped)).kid == key.kid
