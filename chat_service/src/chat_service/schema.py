"""Alembic, driven from code: ``python -m chat_service migrate`` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

# The service folder (alembic.ini, migrations/) sits two levels above the package.
SERVICE_DIR = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(SERVICE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(SERVICE_DIR / "migrations"))
    if database_url is not None:
        # ConfigParser interpolation: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Bring the database to ``revision`` (runs its own event loop: call from a thread)."""
    command.upgrade(alembic_config(database_url), revision)
