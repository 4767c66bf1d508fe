"""An independent Kafka client for tests (aiokafka): produce raw records, read whole topics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes | None
    partition: int
    offset: int
    timestamp: int = 0  # Kafka's record time, ms


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> None:
    """Send (key, value) pairs with Kafka's default partitioner and wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, timeout: float = 10.0) -> list[Record]:
    """Every record now in ``topic`` (all partitions, from the beginning to the end offsets)."""
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
        next_offset = {tp: 0 for tp in partitions}
        records: list[Record] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(next_offset[tp] < end[tp] for tp in partitions):
            if loop.time() > deadline:
                raise TimeoutError(f"read {len(records)} records of {topic}, short of its end offsets {end}")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, tp_records in batch.items():
                records += [Record(r.key, r.value, r.partition, r.offset, r.timestamp) for r in tp_records if r.offset < end[tp]]
                if tp_records:
                    next_offset[tp] = tp_records[-1].offset + 1
        return records
    finally:
        await consumer.stop()

