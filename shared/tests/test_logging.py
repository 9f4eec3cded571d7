from __future__ import annotations

import logging

import pytest

from shared.logging import configure_logging, get_logger, redact

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"


class TestRedact:
    @pytest.mark.parametrize(
        "line",
        [
            f'"WebSocket /api/v1/notify/ws?token={TOKEN}" [accepted]',
            f"GET /verify?v=2&token={TOKEN}&since=5",
            f"Authorization: Bearer {TOKEN}",
            f"refresh_token={TOKEN}",
            f"raw {TOKEN} inside",
        ],
    )
    def test_no_token_survives(self, line: str) -> None:
        cleaned = redact(line)
        assert TOKEN not in cleaned
        assert "[redacted]" in cleaned

    def test_other_text_is_kept(self) -> None:
        assert redact("GET /api/v1/orders?limit=5") == "GET /api/v1/orders?limit=5"


class TestConfiguredLogging:
    def test_uvicorn_style_records_and_structured_events_are_scrubbed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(level="INFO", json=True)
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", f"/ws?token={TOKEN}"
        )
        get_logger("test").info("auth.checked", header=f"Bearer {TOKEN}")
        err = capsys.readouterr().err
        assert "accepted" in err
        assert "auth.checked" in err
        assert TOKEN not in err

    def test_console_tracebacks_leave_out_local_variables(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Rendering every frame's locals took seconds per error on the event loop: a
        # database outage froze the whole service, one traceback at a time.
        configure_logging(level="INFO", json=False)

        def verify() -> None:
            secret = "a-local-value-nobody-logged"
            raise RuntimeError(f"verification failed ({len(secret)})")

        try:
            verify()
        except RuntimeError:
            get_logger("test").exception("auth.failed")
        err = capsys.readouterr().err
        assert "RuntimeError: verification failed (27)" in err
        assert "a-local-value-nobody-logged" not in err
