"""What every baseline server shares: an app that creates its tables at start and
answers ``/readyz``, and the command line ``--port P --database-url URL``."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine


def baseline_app(engine: AsyncEngine, metadata: MetaData) -> FastAPI:
    """A FastAPI app that creates ``metadata``'s tables on start-up (no migrations)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app


def serve(create_app: Callable[[str], FastAPI], description: str | None) -> None:
    """Parse the command line and serve ``create_app(database_url)`` on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.database_url), host="127.0.0.1", port=args.port, log_level="warning"
    )
