"""The interactive docs load every script, style and icon from the service itself, so
they work on a machine with no internet."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Annotated
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.security import OAuth2PasswordBearer

from shared.app import install_common
from shared.testing.server import serve

# What each kind of asset must be served as, and the least it can weigh: the real bundles
# are hundreds of kilobytes, an error page or a stub a few hundred bytes.
EXPECTED = {"script": ("javascript", 100_000), "stylesheet": ("text/css", 10_000)}
ICON = ("image/", 100)
# At module level: the endpoint's annotation names it, and annotations are strings here.
BEARER = OAuth2PasswordBearer(tokenUrl="/login")


class _Assets(HTMLParser):
    """The URLs a page makes the browser fetch: script sources and link targets."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.found.append(("script", values["src"] or ""))
        elif tag == "link" and values.get("href"):
            rel = values.get("rel") or ""
            self.found.append(
                ("stylesheet" if "stylesheet" in rel else "icon", values["href"] or "")
            )


def _assets(page: str) -> list[tuple[str, str]]:
    parser = _Assets()
    parser.feed(page)
    return parser.found


def _app() -> FastAPI:
    app = FastAPI(title="docs_check", swagger_ui_parameters={"persistAuthorization": True})
    install_common(app)

    @app.get("/me")
    async def me(token: Annotated[str, Depends(BEARER)]) -> str:
        return token

    return app


@pytest.mark.parametrize(
    ("page", "kinds"), [("/docs", {"script", "stylesheet"}), ("/redoc", {"script"})]
)
async def test_docs_pages_load_their_assets_from_the_service(page: str, kinds: set[str]) -> None:
    async with serve(_app()) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get(page)
        assert response.status_code == 200
        html = response.text
        assets = _assets(html)
        assert kinds <= {kind for kind, _ in assets}, html
        for kind, src in assets:
            assert urlsplit(src)[:2] == ("", ""), f"{src} is not same-origin"
            asset = await client.get(src)
            assert asset.status_code == 200, src
            wanted, least = EXPECTED.get(kind, ICON)
            assert wanted in asset.headers["content-type"], (src, asset.headers["content-type"])
            assert len(asset.content) >= least, src
        # Nothing else on the page (web fonts, say) reaches out either.
        assert "://" not in html


async def test_docs_keep_the_apps_swagger_settings_and_the_oauth2_redirect() -> None:
    async with serve(_app()) as url, httpx.AsyncClient(base_url=url) as client:
        html = (await client.get("/docs")).text
        assert '"persistAuthorization": true' in html
        assert "url: '/openapi.json'" in html
        match = re.search(r"oauth2RedirectUrl: window\.location\.origin \+ '([^']+)'", html)
        assert match, html
        redirect = await client.get(match.group(1))
        assert redirect.status_code == 200
        assert "swaggerUIRedirectOauth2" in redirect.text
        schema = (await client.get("/openapi.json")).json()
        assert "OAuth2PasswordBearer" in schema["components"]["securitySchemes"]
