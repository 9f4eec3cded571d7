"""``python -m notify_ws_service migrate|serve``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from notify_ws_service.config import get_settings
from notify_ws_service.main import create_app
from notify_ws_service.server import gateway_server
from shared.logging import configure_logging

SERVICE_DIR = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(SERVICE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(SERVICE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    command.upgrade(alembic_config(settings.database_url), "head")


def serve() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    app = create_app(settings)
    # uvicorn raises the SIGINT it handled again once it has shut down cleanly; the
    # event loop's runner turns that into a KeyboardInterrupt with nothing left to stop.
    with contextlib.suppress(KeyboardInterrupt):
        gateway_server(app, settings).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="notify_ws_service", description=__doc__)
    parser.add_argument("command", choices=["migrate", "serve"])
    args = parser.parse_args(argv)
    if args.command == "migrate":
        migrate()
    else:
        serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
