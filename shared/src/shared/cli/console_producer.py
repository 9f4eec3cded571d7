"""``kafka-console-producer`` for machines without the Kafka distribution.

Used like Kafka's own: ``kafka-console-producer --bootstrap-server localhost:9092
--topic notification.send``, then one record per line on stdin (blank lines are
skipped). With ``--property parse.key=true`` each line is ``key<separator>value``
(``--property key.separator=:``; a tab by default, as in Kafka). Every record is
acknowledged by the broker before the next line is read, so what was typed is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

SUPPORTED_PROPERTIES = ("parse.key", "key.separator")


class UsageError(Exception):
    pass


@dataclass(frozen=True)
class Options:
    bootstrap_servers: str
    topic: str
    parse_key: bool
    key_separator: str


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="kafka-console-producer",
        description="Send each line of stdin as one record to a Kafka topic.",
    )
    parser.add_argument(
        "--bootstrap-server",
        "--broker-list",
        dest="bootstrap",
        required=True,
        help="host:port[,host:port...] of the brokers",
    )
    parser.add_argument("--topic", required=True)
    parser.add_argument(
        "--property",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parse.key=true|false, key.separator=<text>",
    )
    args = parser.parse_args(list(argv))
    properties: dict[str, str] = {}
    for item in args.property:
        name, sep, value = item.partition("=")
        if not sep or name not in SUPPORTED_PROPERTIES:
            parser.error(
                f"unsupported property {item!r}; supported: {', '.join(SUPPORTED_PROPERTIES)}"
            )
        properties[name] = value
    parse_key = properties.get("parse.key", "false").lower()
    if parse_key not in ("true", "false"):
        parser.error("parse.key must be true or false")
    separator = properties.get("key.separator", "\t")
    if not separator:
        parser.error("key.separator must not be empty")
    return Options(args.bootstrap, args.topic, parse_key == "true", separator)


def split_line(line: str, options: Options) -> tuple[bytes | None, bytes]:
    if not options.parse_key:
        return None, line.encode()
    key, sep, value = line.partition(options.key_separator)
    if not sep:
        raise UsageError(f"no key separator {options.key_separator!r} in line")
    return key.encode(), value.encode()


async def produce(options: Options, lines: TextIO, errors: TextIO) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=options.bootstrap_servers, acks="all")
    try:
        await producer.start()
    except KafkaError as exc:
        errors.write(f"cannot reach {options.bootstrap_servers}: {exc}\n")
        await producer.stop()
        return 1
    interactive = lines.isatty()
    failures = 0
    try:
        while True:
            if interactive:
                errors.write(">")
                errors.flush()
            line = await asyncio.to_thread(lines.readline)
            if not line:
                return 1 if failures else 0
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            try:
                key, value = split_line(line, options)
                await producer.send_and_wait(options.topic, value, key=key)
            except UsageError as exc:
                failures += 1
                errors.write(f"skipped: {exc}\n")
            except KafkaError as exc:
                failures += 1
                errors.write(f"not sent: {exc}\n")
    finally:
        await producer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return asyncio.run(produce(options, sys.stdin, sys.stderr))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
