"""Where the signing key comes from."""

from __future__ import annotations

from pathlib import Path

import httpx
from jose import jwt

from auth_service.keys import load_signing_key
from auth_service.main import create_app
from shared.auth.tokens import SigningKey
from shared.testing.auth_service import register_and_login
from shared.testing.server import serve
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


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    make_settings: MakeSettings,
) -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    before = make_settings(signing_key_pem=old.private_pem.decode())
    after = make_settings(
        signing_key_pem=new.private_pem.decode(),
        previous_signing_keys_pem=[old.private_pem.decode()],
    )
    async with serve(create_app(before)) as base_url:
        user = await register_and_login(base_url)

    async with serve(create_app(after)) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
        verified = await client.get("/api/v1/auth/verify", headers=user.headers)
        relogin = await client.post(
            "/api/v1/auth/login", data={"username": user.email, "password": user.password}
        )

    assert [k["kid"] for k in keys] == [new.kid, old.kid]
    assert verified.status_code == 200
    assert jwt.get_unverified_header(relogin.json()["access_token"])["kid"] == new.kid
