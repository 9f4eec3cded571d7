"""Seed 000's demo chats: loaded in development, refused in production."""

from __future__ import annotations

import pytest

from chat_service import __main__ as cli
from chat_service.config import Settings, get_settings
from chat_service.demo import load_demo_chats
from shared.auth.tokens import SigningKey
from shared.demo import ADMIN, DEMO_CHATS, TEST_USERS
from tests.conftest import sign
from tests.helpers import Api, connect


class TestSeedDemo:
    async def test_testuser1_sees_and_talks_in_testchat1(
        self, api: Api, chat_url: str, settings: Settings, signing_key: SigningKey
    ) -> None:
        await load_demo_chats(settings)
        assert await load_demo_chats(settings) == 0  # loading twice changes nothing
        user1 = sign(signing_key, TEST_USERS[0].id, "TestUser1")
        listing = (await api.call(user1, "GET", "/api/v1/chats")).json()["items"]
        chat1 = DEMO_CHATS[0]
        assert [c["name"] for c in listing] == ["TestChat1"]
        assert listing[0]["id"] == str(chat1.id)
        chat = (await api.call(user1, "GET", f"/api/v1/chats/{chat1.id}")).json()
        assert chat["owner_id"] == str(ADMIN.id)
        assert chat["type"] == "private"
        assert {m["user_id"] for m in chat["members"]} == {str(ADMIN.id), str(TEST_USERS[0].id)}
        user2 = sign(signing_key, TEST_USERS[1].id, "TestUser2")
        chat2 = (await api.call(user2, "GET", f"/api/v1/chats/{DEMO_CHATS[1].id}")).json()
        assert chat2["type"] == "group"
        assert len(chat2["members"]) == 3
        async with connect(chat_url, f"/ws/chat/{chat1.id}", user1, header=True) as ws:
            await ws.send({"type": "sending_message", "data": "Hello world!"})
            reply = await ws.until(lambda f: f["type"] == "result")
        assert reply["message"]["text"] == "Hello world!"

    def test_refused_in_production(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("CHAT_ENVIRONMENT", "production")
        monkeypatch.setenv("CHAT_DATABASE_URL", "postgresql+asyncpg://u@db.invalid/chat")
        monkeypatch.setenv("CHAT_REDIS_URL", "redis://redis.invalid:6379/0")
        get_settings.cache_clear()
        try:
            assert cli.main(["seed-demo"]) == 2
        finally:
            get_settings.cache_clear()
        assert "refusing" in capsys.readouterr().err
