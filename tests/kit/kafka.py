"""An independent Kafka client for tests (aiokafka): produce raw records, read whole topics.

``seal_headers`` seals a record as the test workers' deployment does (its own computation of
the format the README states), for tests that play an operator who holds the key.

``read_all``'s timeout is scaled by the patience factor (``TEST_PATIENCE``) and running
out of it raises ``ReadTimedOut`` (a ``TimedOut``, and a ``TimeoutError`` as before).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from .patience import Pending, ReadTimedOut, Watch


@dataclass(frozen=True)
class Record:
    """One record as Kafka holds it."""

    key: bytes | None
    value: bytes | None
    partition: int
    offset: int
    timestamp: int = 0  # Kafka's record time, ms
    headers: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)


#: the seal key the test workers are configured with (tests/kit/workers.py)
SEAL_KEY = "test-seal-key-0123456789abcdef0123456789abcdef"
Headers = list[tuple[str, bytes]]


def seal_headers(topic: str, key: bytes | None, value: bytes | None, secret: str = SEAL_KEY) -> Headers:
    """The ``r3-seal`` header of a record of catalogue topic ``topic`` (no prefix): HMAC-SHA256
    over ``v1``, the topic, the key and the value, each with its 4-byte big-endian length
    (a missing key or value: four 0xff bytes)."""
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    for part in (b"v1", topic.encode(), key, value):
        mac.update(b"\xff" * 4 if part is None else struct.pack(">I", len(part)) + part)
    return [("r3-seal", f"v1:{mac.hexdigest()}".encode())]


def sealed(topic: str, records: list[tuple[bytes | None, bytes | None]]) -> list[Headers]:
    """The seal headers of ``records`` for catalogue topic ``topic`` (a prefixed name is fine)."""
    bare = topic.rsplit(".", 1)[-1]
    return [seal_headers(bare, key, value) for key, value in records]


async def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]], headers: list[Headers] | None = None
) -> None:
    """Send (key, value) pairs (each with its ``headers``, if given) with Kafka's default
    partitioner and wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n, (key, value) in enumerate(records):
            extra = headers[n] if headers else None
            await producer.send_and_wait(topic, value=value, key=key, headers=extra or None)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, timeout: float = 10.0) -> list[Record]:
    """Every record now in ``topic`` (all partitions, from the beginning to the end offsets);
    ``ReadTimedOut`` if they cannot be read within ``timeout`` seconds times the patience factor."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        known = await consumer._client._wait_on_metadata(topic)
        partitions = [TopicPartition(topic, p) for p in sorted(known or [])]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        offsets = {tp.partition: offset for tp, offset in end.items()}
        return await _read_to(consumer, end, Watch(timeout, f"the records of {topic} up to its end offsets {offsets}"))
    finally:
        await consumer.stop()


async def _read_to(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int], watch: Watch) -> list[Record]:
    """The assigned partitions' records below ``end``, read before ``watch``'s deadline."""
    next_offset = {tp: 0 for tp in end}
    records: list[Record] = []
    while any(next_offset[tp] < end[tp] for tp in end):
        watch.saw(Pending(f"{len(records)} of {sum(end.values())} records read"))
        if watch.remaining() < 0:
            raise watch.timed_out(ReadTimedOut)
        batch = await consumer.getmany(timeout_ms=500)
        for tp, tp_records in batch.items():
            records += [
                Record(r.key, r.value, r.partition, r.offset, r.timestamp, tuple(r.headers or ()))
                for r in tp_records
                if r.offset < end[tp]
            ]
            if tp_records:
                next_offset[tp] = tp_records[-1].offset + 1
    return records


async def topic_names(bootstrap: str, prefix: str) -> list[str]:
    """Every topic whose name starts with ``prefix`` (the catalogue's topics and Faust's changelogs)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return sorted(name for name in await consumer.topics() if name.startswith(prefix))
    finally:
        await consumer.stop()


async def every_byte(bootstrap: str, prefix: str) -> bytes:
    """The keys, values and headers of every record of every topic starting with ``prefix``."""
    chunks: list[bytes] = []
    for topic in await topic_names(bootstrap, prefix):
        for record in await read_all(bootstrap, topic, timeout=60):
            chunks += [record.key or b"", record.value or b"", *(value for _, value in record.headers)]
    return b"\n".join(chunks)
