"""A process producing ``notification.send`` records on a schedule, driven by JSON lines.

``python -m bench.gateway_producer --kafka B``; each command line gets one JSON reply:

- ``{"cmd": "run", "streams": [{"phase", "rate", "count", "users", "body"}]}``: the
  streams run side by side. With a rate, record ``i`` is due at ``t0 + i / rate`` and
  carries that intended time (open loop: a late producer or a stalled broker shows up as
  latency, never as fewer records); without one, all records go at once. Records are
  addressed to ``users`` in turn, with a body of ``body`` bytes. Replies once the broker
  acknowledged them all: ``{"streams": [{"phase", "t0", "rate", "count"}]}``.
- ``{"cmd": "close"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any

import uvloop
from aiokafka import AIOKafkaProducer

from bench.gateway_marks import make_mark
from shared.events.topics import NOTIFICATION_SEND


def record(user_id: str, phase: int, seq: int, intended: float, body: str) -> bytes:
    """A record in seed 004's shape, its title marked for the clients to time."""
    return json.dumps(
        {
            "message_id": str(uuid.uuid4()),
            "delivery_method": "push",
            "user_id": user_id,
            "subject": make_mark(phase, seq, intended),
            "content": body,
        }
    ).encode()


async def run_stream(producer: AIOKafkaProducer, stream: dict[str, Any]) -> dict[str, Any]:
    phase, count, users = int(stream["phase"]), int(stream["count"]), list(stream["users"])
    rate: float | None = stream.get("rate")
    body = "x" * int(stream.get("body", 1))
    keys = [u.encode() for u in users]
    pending: list[asyncio.Future[Any]] = []
    t0 = time.monotonic()
    sent = 0
    while sent < count:
        now = time.monotonic()
        due = count if rate is None else min(count, int((now - t0) * rate) + 1)
        while sent < due:
            intended = now if rate is None else t0 + sent / rate
            target = sent % len(users)
            value = record(users[target], phase, sent, intended, body)
            pending.append(await producer.send(NOTIFICATION_SEND, value, key=keys[target]))
            sent += 1
        if rate is not None and sent < count:
            await asyncio.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
    await asyncio.gather(*pending)
    return {"phase": phase, "t0": t0, "rate": rate, "count": count}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kafka", required=True)
    args = parser.parse_args()
    producer = AIOKafkaProducer(bootstrap_servers=args.kafka, acks=1, linger_ms=1)
    await producer.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            if command["cmd"] == "close":
                break
            streams = await asyncio.gather(*(run_stream(producer, s) for s in command["streams"]))
            sys.stdout.write(json.dumps({"streams": streams}) + "\n")
            sys.stdout.flush()
    finally:
        await producer.stop()
    sys.stdout.write("{}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    uvloop.run(main())
