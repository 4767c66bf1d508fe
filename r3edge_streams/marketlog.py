"""Reading back what DataCollect published: the last candle per market in a ``marketdata`` partition.

In: bootstrap servers, a partition of ``marketdata``, the markets of interest and the earliest
open time that matters. Out: each market's last published open time. The collector calls this
when it (re)gains a partition, so that it continues exactly after what any worker published
before, whatever happened to that worker. A candle is published (wall clock) only after it
closed, so every record holding a candle that opened at or after ``since`` carries a Kafka
timestamp after ``since``: ``offsets_for_times(since)`` skips only what cannot matter.
"""

from __future__ import annotations

from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from .models import Candle, MalformedMessage, decode_key, parse_bytes


async def last_open_times(
    bootstrap: list[str], topic: str, partition: int, markets: set[str], since: datetime
) -> dict[str, datetime]:
    """The newest open time of each of ``markets`` found in ``topic[partition]`` from ``since``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        found = (await consumer.offsets_for_times({tp: int(since.timestamp() * 1000)}))[tp]
        consumer.seek(tp, found.offset if found is not None else end)
        return await _scan(consumer, tp, end, markets)
    finally:
        await consumer.stop()


async def _scan(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int, markets: set[str]) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    while await consumer.position(tp) < end:
        batch = await consumer.getmany(tp, timeout_ms=1000)
        for record in batch.get(tp, []):
            if record.offset >= end:
                break
            try:
                market = decode_key(record.key)
                if market not in markets:
                    continue
                candle = parse_bytes(Candle, record.value)
            except MalformedMessage:
                continue  # not ours to judge here: the fan-out agent dead-letters it
            if market not in last or candle.open_time > last[market]:
                last[market] = candle.open_time
    return last
