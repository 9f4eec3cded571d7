"""``python -m auth_service migrate | serve | seed-demo``."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn

from auth_service.config import get_settings
from auth_service.demo import load_demo_users
from auth_service.schema import upgrade
from shared.http import server_options
from shared.logging import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auth_service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the database migrations (alembic upgrade head)")
    commands.add_parser("serve", help="run the HTTP server on AUTH_HOST:AUTH_PORT")
    commands.add_parser("seed-demo", help="load the demo users (refused in production)")
    args = parser.parse_args(argv)

    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    if args.command == "migrate":
        upgrade(settings.database_url)
    elif args.command == "serve":
        uvicorn.run(
            "auth_service.main:create_app",
            factory=True,
            ws_max_size=65536,
            **server_options(settings),
        )
    elif args.command == "seed-demo":
        if settings.is_production:
            print("refusing to load demo users in production", file=sys.stderr)
            return 2
        asyncio.run(load_demo_users(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
