"""Storing sends in batches: one transaction for every send that queued meanwhile.

Plain SQL rows, not ORM objects: a batch is a handful of statements whatever its size
(each chat locked once, one lookup of client_message_ids, one INSERT each for the
messages and their outbox rows, one UPDATE each for the chats and the senders' read
positions), and the per-message work is building rows and frames. A batch whose sends
name attachments also locks those uploads, and writes both sides of each message that
carries some.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from chat_service.attachments import repository as attachments
from chat_service.attachments.schemas import AttachmentRead, summary_of
from chat_service.chats import repository as chats
from chat_service.context import Actor, chat_event
from chat_service.database import as_utc
from chat_service.errors import AttachmentNotFound, ChatNotFound, MessageNotFound, NotChatMember
from chat_service.messages import repository
from chat_service.messages.schemas import MessageCreate, MessageRead, SendResult
from chat_service.metrics import MESSAGES_SENT
from chat_service.models import Attachment
from chat_service.realtime.frames import Delivery, event_frame
from shared.db import utcnow


@dataclass(frozen=True)
class Send:
    """One message to store, validated, its sender known."""

    actor: Actor
    chat_id: UUID
    text: str
    client_message_id: str
    # The client named it, so it may have been sent before; a server-made id cannot
    # have been (unless its own batch failed in COMMIT and is being written again).
    keyed: bool
    attachment_ids: tuple[UUID, ...] = ()
    reply_to_seq: int | None = None

    @classmethod
    def of(cls, actor: Actor, chat_id: UUID, data: MessageCreate) -> Send:
        keyed = data.client_message_id is not None
        client_message_id = data.client_message_id if keyed else uuid4().hex
        assert client_message_id is not None
        files = tuple(data.attachment_ids)
        return cls(actor, chat_id, data.text, client_message_id, keyed, files, data.reply_to_seq)

    @property
    def key(self) -> repository.MessageKey:
        return (self.chat_id, self.actor.user_id, self.client_message_id)


@dataclass
class Stored:
    """What a batch did: each send's result or error, and what to announce once the
    transaction has committed."""

    outcomes: list[SendResult | Exception]
    deliveries: list[Delivery] = field(default_factory=list)
    events: int = 0


async def store_messages(
    session: AsyncSession, sends: Sequence[Send], *, look_up_all: bool = False
) -> Stored:
    """Stores a batch in the caller's transaction, each send as if in its own, one
    after the other: seqs come from the locked chat rows (gap-free, in commit order); a
    send whose client_message_id was seen (before, or earlier in this batch) gets the
    original; each send gets its own result or its own error (not a member, no chat)."""
    chat_ids = list(dict.fromkeys(s.chat_id for s in sends))
    rooms = {
        row.id: _Room(row.name, row.last_seq) for row in await chats.lock_chats(session, chat_ids)
    }
    now = utcnow()
    for row in await chats.read_positions(session, chat_ids):
        room = rooms[row.chat_id]
        room.reads[row.user_id] = row.last_read_seq
        room.names[row.user_id] = row.display_name
        if row.muted_until is not None and as_utc(row.muted_until) > now:
            room.muted.append(row.user_id)
    allowed = [s for s in sends if _refusal(s, rooms) is None]
    keys = [s.key for s in allowed if s.keyed or look_up_all]
    seen = {
        key: MessageRead.of(original, read_seq=0)
        for key, original in (await repository.by_client_message_ids(session, keys)).items()
    }
    named = [a for s in allowed for a in s.attachment_ids]
    files = _Files(await attachments.lock_for_sending(session, named) if named else {})
    stored = Stored(outcomes=[])
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for send in sends:
        refusal = _refusal(send, rooms)
        if refusal is not None:
            stored.outcomes.append(refusal)
            continue
        room = rooms[send.chat_id]
        original = seen.get(send.key)
        if original is not None:
            is_read = original.seq <= room.floor()
            message = original.model_copy(update={"is_read": is_read})
            stored.outcomes.append(SendResult(message=message, duplicate=True))
            continue
        if send.reply_to_seq is not None and send.reply_to_seq > room.last_seq:
            stored.outcomes.append(MessageNotFound())  # seqs up to last_seq all exist
            continue
        summaries = files.claim(send)
        if isinstance(summaries, Exception):
            stored.outcomes.append(summaries)
            continue
        values = room.add(send, now)
        messages.append(values)
        if summaries:
            files.carried[values["id"]] = summaries
        is_read = values["seq"] <= room.floor()
        created = seen[send.key] = MessageRead.model_construct(
            **values,
            edited_at=None,
            is_read=is_read,
            attachments=[AttachmentRead.of(s) for s in summaries],
        )
        stored.outcomes.append(SendResult(message=created, duplicate=False))
        events.append(_created_event(send, room, created))
        stored.deliveries.append(_created_delivery(room, created))
    if messages:
        await repository.write_sends(
            session,
            messages=messages,
            outbox=events,
            chats={c: (room.last_seq, now) for c, room in rooms.items() if room.senders},
            senders=[
                (chat_id, user_id, room.reads[user_id], room.names[user_id])
                for chat_id, room in rooms.items()
                for user_id in room.senders
            ],
        )
        if files.carried:
            await attachments.attach(session, files.carried)
    stored.events = len(events)
    MESSAGES_SENT.inc(len(messages))
    return stored


@dataclass
class _Room:
    """A locked chat as the batch changes it."""

    name: str
    last_seq: int
    reads: dict[UUID, int] = field(default_factory=dict)  # member -> last_read_seq
    names: dict[UUID, str] = field(default_factory=dict)  # member -> display name
    senders: set[UUID] = field(default_factory=set)
    muted: list[UUID] = field(default_factory=list)  # members muting it now

    def floor(self) -> int:
        """The seq every member has read up to."""
        return min(self.reads.values(), default=0)

    def add(self, send: Send, now: Any) -> dict[str, Any]:
        self.last_seq += 1
        sender = send.actor.user_id
        # Sending implies having read the chat up to one's own message.
        self.reads[sender] = self.last_seq
        if send.actor.display_name:
            self.names[sender] = send.actor.display_name  # kept current with the token
        self.senders.add(sender)
        return {
            "id": uuid4(),
            "chat_id": send.chat_id,
            "seq": self.last_seq,
            "sender_id": sender,
            "client_message_id": send.client_message_id,
            "text": send.text,
            "created_at": now,
            "reply_to_seq": send.reply_to_seq,
            "deleted": False,
        }


@dataclass
class _Files:
    """The uploads the batch's sends name, locked, as the batch hands them out."""

    found: dict[UUID, Attachment]
    claimed: set[UUID] = field(default_factory=set)
    carried: dict[UUID, list[dict[str, Any]]] = field(default_factory=dict)  # by message

    def claim(self, send: Send) -> list[dict[str, Any]] | Exception:
        """The summaries of the send's files, or the error naming those it may not send:
        another's, another chat's, sent already (now or earlier in the batch)."""
        refused = [a for a in send.attachment_ids if not self._claimable(a, send)]
        if refused:
            return AttachmentNotFound(refused)
        self.claimed.update(send.attachment_ids)
        return [summary_of(self.found[a]) for a in send.attachment_ids]

    def _claimable(self, attachment_id: UUID, send: Send) -> bool:
        found = self.found.get(attachment_id)
        return (
            found is not None
            and found.chat_id == send.chat_id
            and found.uploader_id == send.actor.user_id
            and found.message_id is None
            and attachment_id not in self.claimed
        )


def _refusal(send: Send, rooms: dict[UUID, _Room]) -> Exception | None:
    room = rooms.get(send.chat_id)
    if room is not None and send.actor.user_id in room.reads:
        return None
    if room is not None and send.actor.is_superuser:
        return NotChatMember()  # sees the chat, but acts as nobody's member
    return ChatNotFound()


def _created_event(send: Send, room: _Room, message: MessageRead) -> dict[str, Any]:
    return chat_event(
        "message_created",
        chat_id=message.chat_id,
        actor_id=send.actor.user_id,
        data={
            "chat_id": str(message.chat_id),
            "chat_name": room.name,
            "message_id": str(message.id),
            "seq": message.seq,
            "sender_id": str(send.actor.user_id),
            "sender_name": send.actor.display_name,
            "text": message.text,
            "reply_to_seq": message.reply_to_seq,
            "attachments": [a.model_dump(mode="json") for a in message.attachments],
            "member_ids": [str(u) for u in room.reads],
            "muted_ids": [str(u) for u in room.muted],
        },
    )


def _created_delivery(room: _Room, message: MessageRead) -> Delivery:
    frame = event_frame("message_created", message.chat_id, message.model_dump(mode="json"))
    return Delivery(user_ids=tuple(room.reads), frame=frame)
