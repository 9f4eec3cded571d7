"""Fixtures of the deployment checks (no Docker engine or cluster needed)."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from deploycheck import K8S, materialize_secrets


@pytest.fixture(scope="session")
def signing_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="session")
def compose_secrets(signing_key_pem: str) -> dict[str, str]:
    """What an operator puts in .env: every required variable, nothing optional."""
    return {
        "POSTGRES_PASSWORD": secrets.token_hex(32),
        "REDIS_PASSWORD": secrets.token_hex(32),
        "AUTH_SIGNING_KEY_PEM": signing_key_pem,
    }


@pytest.fixture(scope="session")
def k8s_tree(tmp_path_factory: pytest.TempPathFactory, signing_key_pem: str) -> Path:
    """A copy of deploy/k8s whose overlays have their secret files, as an operator's would."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root)
    materialize_secrets(root, signing_key_pem)
    return root
