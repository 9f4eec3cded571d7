from __future__ import annotations

import asyncio
import shutil
import sys
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.cli.console_producer import Options, UsageError, parse_args, split_line
from shared.kafka import ensure_topics

SEED_LINE = (
    '{"message_id": "123e4567-e89b-12d3-a456-426614174000","delivery_method": "push",'
    '"user_id": "b1fe6a68-f7b5-4c2c-a52b-97494403d2ce","subject":"Новый фильм", '
    '"content": "Фильм \'Как закалялась сталь\' теперь доступен для просмотра"}'
)


async def _read(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(40):
            while len(seen) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    seen.extend(records)
    finally:
        await consumer.stop()
    return seen


async def _run_cli(*args: str, stdin: str) -> tuple[int, str]:
    executable = shutil.which("kafka-console-producer")
    command = [executable] if executable else [sys.executable, "-m", "shared.cli.console_producer"]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


class TestConsoleProducer:
    async def test_each_line_is_one_record(self, kafka_bootstrap: str) -> None:
        topic = f"console-{uuid.uuid4().hex[:8]}"
        await ensure_topics(kafka_bootstrap, [topic], partitions=1)
        code, err = await _run_cli(
            "--bootstrap-server",
            kafka_bootstrap,
            "--topic",
            topic,
            stdin=f"{SEED_LINE}\n\nsecond line\n",
        )
        assert (code, err) == (0, "")
        records = await _read(kafka_bootstrap, topic, 2)
        assert [r.value.decode() for r in records if r.value] == [SEED_LINE, "second line"]
        assert [r.key for r in records] == [None, None]

    async def test_keys_are_parsed_when_asked(self, kafka_bootstrap: str) -> None:
        topic = f"console-{uuid.uuid4().hex[:8]}"
        await ensure_topics(kafka_bootstrap, [topic], partitions=1)
        code, err = await _run_cli(
            "--bootstrap-server",
            kafka_bootstrap,
            "--topic",
            topic,
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            stdin='user-1:{"a": 1}\nno separator here\n',
        )
        assert code == 1
        assert "skipped" in err
        records = await _read(kafka_bootstrap, topic, 1)
        assert [(r.key, r.value) for r in records] == [(b"user-1", b'{"a": 1}')]

    async def test_unreachable_broker_fails(self) -> None:
        code, err = await _run_cli("--bootstrap-server", "127.0.0.1:1", "--topic", "t", stdin="x\n")
        assert code == 1
        assert "cannot reach" in err


class TestArguments:
    def test_unknown_property_is_refused(self) -> None:
        with pytest.raises(SystemExit):
            parse_args(["--bootstrap-server", "b:9092", "--topic", "t", "--property", "x=1"])

    def test_default_separator_is_a_tab(self) -> None:
        options = parse_args(
            ["--broker-list", "b:9092", "--topic", "t", "--property", "parse.key=true"]
        )
        assert options == Options("b:9092", "t", True, "\t")
        assert split_line("k\tv:w", options) == (b"k", b"v:w")
        with pytest.raises(UsageError):
            split_line("no tab", options)
