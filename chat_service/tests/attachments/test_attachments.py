"""Files in messages: upload (members, types told by the bytes, size and count caps),
send by id (only one's own unsent uploads of that chat, once), download (members only,
cached by ETag), gone with their message or chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from chat_service.attachments.media import safe_filename
from chat_service.main import create_app
from chat_service.models import Attachment
from chat_service.state import ChatState
from shared.db import utcnow
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import Api, Person, connect
from tests.test_outbox import outbox_of

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\0" * 64
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


async def upload(
    api: Api, person: Person, chat_id: str, data: bytes = PNG, name: str = "cat.png"
) -> httpx.Response:
    return await api.call(
        person, "POST", f"/api/v1/chats/{chat_id}/attachments", files={"file": (name, data)}
    )


async def uploaded(api: Api, person: Person, chat_id: str, data: bytes = PNG) -> str:
    response = await upload(api, person, chat_id, data)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send(api: Api, person: Person, chat_id: str, *ids: str, **body: Any) -> httpx.Response:
    return await api.call(
        person,
        "POST",
        f"/api/v1/chats/{chat_id}/messages",
        json={"attachment_ids": list(ids), **body},
    )


async def download(api: Api, person: Person, attachment_id: str, **headers: str) -> httpx.Response:
    return await api.client.get(
        f"/api/v1/attachments/{attachment_id}", headers={**person.headers, **headers}
    )


class TestUploadSendDownload:
    async def test_a_picture_goes_from_upload_to_message_to_members(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        response = await upload(api, alice, chat["id"], name="../../secret/кот.png")
        assert response.status_code == 201
        made = response.json()
        assert made["content_type"] == "image/png"
        assert (made["filename"], made["size"], made["sent"]) == ("кот.png", len(PNG), False)
        assert made["url"] == f"/api/v1/attachments/{made['id']}"
        assert (await download(api, bob, made["id"])).status_code == 404  # not sent yet
        assert (await download(api, alice, made["id"])).content == PNG

        sent = await send(api, alice, chat["id"], made["id"])
        assert sent.status_code == 201, sent.text
        message = sent.json()
        assert message["text"] == ""
        assert message["attachments"] == [
            {k: made[k] for k in ("id", "filename", "content_type", "size", "url")}
        ]
        assert (await api.messages(bob, chat["id"]))["items"][-1] == {**message, "is_read": False}

        got = await download(api, bob, made["id"])
        assert got.status_code == 200
        assert got.content == PNG
        assert got.headers["content-type"] == "image/png"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert (
            got.headers["content-disposition"] == "inline; filename*=UTF-8''%D0%BA%D0%BE%D1%82.png"
        )
        assert got.headers["etag"] == f'"{made["sha256"]}"'
        cached = await download(api, bob, made["id"], **{"If-None-Match": got.headers["etag"]})
        assert (cached.status_code, cached.content) == (304, b"")
        for outsider in (carol,):
            assert (await download(api, outsider, made["id"])).status_code == 404
        assert (await download(api, bob, str(uuid4()))).status_code == 404

    async def test_the_event_and_the_frames_carry_the_attachments(
        self, api: Api, app: FastAPI, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        first, second = (
            await uploaded(api, alice, chat["id"]),
            await uploaded(api, alice, chat["id"], MP4),
        )
        async with (
            connect(chat_url, "/ws", alice) as sender,
            connect(chat_url, "/ws", bob) as member,
        ):
            reply = await sender.request(
                "send_message", chat_id=chat["id"], text="look", attachment_ids=[first, second]
            )
            assert reply["type"] == "result", reply
            carried = reply["message"]["attachments"]
            assert [(a["id"], a["content_type"]) for a in carried] == [
                (first, "image/png"),
                (second, "video/mp4"),
            ]
            event = await member.event("message_created")
            assert event["data"]["attachments"] == carried
        [created] = [
            e
            for e in await outbox_of(app, chat["id"])
            if e["type"] == "chat.message_created"
            and e["data"]["message_id"] == reply["message"]["id"]
        ]
        assert created["data"]["attachments"] == carried

    async def test_a_retry_returns_the_original_with_its_attachments(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        file = await uploaded(api, alice, chat["id"])
        first = await send(api, alice, chat["id"], file, client_message_id="with-file")
        again = await send(api, alice, chat["id"], file, client_message_id="with-file")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()

    async def test_one_byte_range_at_a_time_as_players_ask(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        file = await uploaded(api, alice, chat["id"], MP4)
        size = len(MP4)
        for asked, first, last in (
            ("bytes=0-9", 0, 9),
            ("bytes=10-", 10, size - 1),
            ("bytes=-5", size - 5, size - 1),
            ("bytes=3-100000", 3, size - 1),
        ):
            got = await download(api, alice, file, Range=asked)
            assert got.status_code == 206, asked
            assert got.content == MP4[first : last + 1], asked
            assert got.headers["content-range"] == f"bytes {first}-{last}/{size}"
            assert got.headers["content-type"] == "video/mp4"
        past = await download(api, alice, file, Range=f"bytes={size}-")
        assert (past.status_code, past.headers["content-range"]) == (416, f"bytes */{size}")
        for whole in ("bytes=0-1,4-5", "bytes=5-2", "items=0-1", "bytes=-"):
            got = await download(api, alice, file, Range=whole)
            assert (got.status_code, got.content) == (200, MP4), whole
        stale = await download(api, alice, file, Range="bytes=0-1", **{"If-Range": '"other"'})
        assert (stale.status_code, stale.content) == (200, MP4)
        assert got.headers["accept-ranges"] == "bytes"


class TestSendingRefusals:
    async def test_only_ones_own_unsent_uploads_of_this_chat_and_nothing_changes(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        other_chat = await api.create_chat(alice, carol)
        bobs = await uploaded(api, bob, chat["id"])
        elsewhere = await uploaded(api, alice, other_chat["id"])
        used = await uploaded(api, alice, chat["id"])
        assert (await send(api, alice, chat["id"], used)).status_code == 201
        mine = await uploaded(api, alice, chat["id"])
        before = await api.messages(alice, chat["id"])
        for refused in (bobs, elsewhere, used, str(uuid4())):
            response = await send(api, alice, chat["id"], mine, refused, text="x")
            assert response.status_code == 404, refused
            assert response.json() == {
                "error": "AttachmentNotFound",
                "detail": f"no such attachment: {refused}",
            }
        assert await api.messages(alice, chat["id"]) == before
        assert (await send(api, alice, chat["id"], mine)).status_code == 201

    @pytest.mark.parametrize(
        "body",
        [
            {"text": ""},
            {"text": "", "attachment_ids": []},
            {"text": "x", "attachment_ids": ["not-a-uuid"]},
            {"text": "x", "attachment_ids": [str(uuid4())] * 2},
            {"text": "x", "attachment_ids": [str(uuid4()) for _ in range(11)]},
        ],
    )
    async def test_malformed_bodies_are_422(
        self, api: Api, alice: Person, bob: Person, body: dict[str, Any]
    ) -> None:
        chat = await api.create_chat(alice, bob)
        response = await api.call(alice, "POST", f"/api/v1/chats/{chat['id']}/messages", json=body)
        assert response.status_code == 422, response.text
        assert (await api.messages(alice, chat["id"]))["last_seq"] == 0

    async def test_parallel_sends_of_one_upload_carry_it_once(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        file = await uploaded(api, alice, chat["id"])
        responses = await asyncio.gather(
            *(send(api, alice, chat["id"], file, text=f"try {i}") for i in range(10))
        )
        assert sorted(r.status_code for r in responses) == [201] + [404] * 9
        assert (await api.messages(alice, chat["id"]))["last_seq"] == 1


class TestUploadRefusals:
    async def test_what_is_not_a_picture_or_video_is_415(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        for data, name in ((HTML, "cat.png"), (b"just text", "a.txt"), (b"", "empty.png")):
            response = await upload(api, alice, chat["id"], data, name)
            assert response.status_code == 415, name
            assert response.json()["error"] == "UnsupportedMediaType"

    async def test_outsiders_and_bad_forms(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        path = f"/api/v1/chats/{chat['id']}/attachments"
        assert (await upload(api, carol, chat["id"])).status_code == 404
        assert (
            await api.call(None, "POST", path, files={"file": ("a.png", PNG)})
        ).status_code == 401
        wrong_field = await api.call(alice, "POST", path, files={"picture": ("a.png", PNG)})
        assert wrong_field.status_code == 400
        not_a_form = await api.call(alice, "POST", path, content=PNG)
        assert not_a_form.status_code == 400

        async def chunks() -> AsyncIterator[bytes]:
            yield PNG

        unsized = await api.call(alice, "POST", path, content=chunks())
        assert unsized.status_code == 411


@dataclass
class Small:
    """An app with small caps, and a chat of two users of the test alone (the other
    tests leave uploads unsent)."""

    api: Api
    app: FastAPI
    alice: Person
    bob: Person
    chat_id: str


@pytest.fixture
async def small(make_settings: MakeSettings, auth_people: list[Person]) -> AsyncIterator[Small]:
    settings = make_settings(
        attachment_max_bytes=2048, attachment_unsent_max=2, attachment_purge_interval_seconds=0.1
    )
    app = create_app(settings)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        api = Api(client, url)
        alice, bob = auth_people
        chat = await api.create_chat(alice, bob)
        yield Small(api, app, alice, bob, chat["id"])


class TestLimits:
    async def test_a_file_over_the_cap_is_413_before_it_is_read(self, small: Small) -> None:
        api, alice, chat_id = small.api, small.alice, small.chat_id
        assert (await upload(api, alice, chat_id, PNG + b"\0" * 1900)).status_code == 201
        over = await upload(api, alice, chat_id, PNG + b"\0" * 2000)
        assert over.status_code == 413
        assert over.json() == {
            "error": "AttachmentTooLarge",
            "detail": "the file is over 2048 bytes",
        }
        huge = await upload(api, alice, chat_id, PNG + b"\0" * 100_000)
        assert huge.status_code == 413

    async def test_unsent_uploads_are_capped_and_expire(self, small: Small) -> None:
        api, alice, chat_id = small.api, small.alice, small.chat_id
        first = await uploaded(api, alice, chat_id)
        await uploaded(api, alice, chat_id)
        refused = await upload(api, alice, chat_id)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600
        assert (await upload(api, small.bob, chat_id)).status_code == 201  # bob's own count

        state: ChatState = small.app.state.chat
        async with state.sessionmaker() as session, session.begin():
            await session.execute(
                update(Attachment)
                .where(Attachment.id == first)
                .values(created_at=utcnow() - timedelta(days=2))
            )
        assert (await upload(api, alice, chat_id)).status_code == 201  # expired: not counted
        async with asyncio.timeout(10):
            while (await download(api, alice, first)).status_code != 404:
                await asyncio.sleep(0.1)  # until the purge deletes it


class TestGone:
    async def test_deleting_the_message_or_the_chat_deletes_its_files(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        first, second = (
            await uploaded(api, alice, chat["id"]),
            await uploaded(api, alice, chat["id"]),
        )
        message = (await send(api, alice, chat["id"], first)).json()
        assert (await send(api, alice, chat["id"], second)).status_code == 201
        deleted = await api.call(
            alice, "DELETE", f"/api/v1/chats/{chat['id']}/messages/{message['id']}"
        )
        assert deleted.status_code == 204
        assert (await download(api, bob, first)).status_code == 404
        items = (await api.messages(bob, chat["id"]))["items"]
        assert (items[0]["deleted"], items[0]["attachments"]) == (True, [])
        assert (await download(api, bob, second)).status_code == 200
        assert (await api.call(alice, "DELETE", f"/api/v1/chats/{chat['id']}")).status_code == 204
        assert (await download(api, alice, second)).status_code == 404


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("C:\\Users\\me\\cat.png", "cat.png"),
        ("../../etc/passwd", "passwd.png"),
        ("evil\x07\u202ename.png", "evilname.png"),
        ("..", "file.png"),
        (None, "file.png"),
        ("x" * 300 + ".png", "x" * 251 + ".png"),
        ("x" * 300 + ".html", "x" * 251 + ".png"),
        ("evil.html", "evil.html.png"),
        ("CAT.PNG", "CAT.PNG"),
    ],
)
def test_filenames_lose_paths_and_control_characters(given: str | None, kept: str) -> None:
    assert safe_filename(given, "image/png") == kept
    assert safe_filename(None, "video/quicktime") == "file.mov"
