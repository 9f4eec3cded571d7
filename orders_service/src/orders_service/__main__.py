"""``python -m orders_service migrate|serve``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config

from orders_service.config import get_settings
from orders_service.main import create_app
from shared.http import server_options
from shared.logging import configure_logging

SERVICE_DIR = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(SERVICE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(SERVICE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def migrate() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    upgrade(settings.database_url)


def serve() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        ws_max_size=settings.ws_max_size,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        **server_options(settings),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orders_service", description=__doc__)
    parser.add_argument("command", choices=["migrate", "serve"])
    args = parser.parse_args(argv)
    if args.command == "migrate":
        migrate()
    else:
        serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
