"""Reading back what the workers published, to continue exactly after it.

In: bootstrap servers, one partition of a topic and a wall-clock bound ``since``. Out: for
``marketdata``, each market's last published open time (the collector's cursors); for
``signals``, each strategy instance's last signalled candle (the strategy agent's memory of
effects whose table write a crash lost). Records carry the wall-clock time they were produced,
so ``offsets_for_times(since)`` skips only records produced before ``since``.
Malformed records are skipped here: the consuming agent dead-letters them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from .models import Candle, MalformedMessage, Signal, decode_key, parse_bytes

Visit = Callable[[bytes | None, bytes | None], None]


async def scan_partition(bootstrap: list[str], topic: str, partition: int, since: datetime, visit: Visit) -> None:
    """Call ``visit(key, value)`` for every record of ``topic[partition]`` produced from ``since`` on."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        found = (await consumer.offsets_for_times({tp: max(int(since.timestamp() * 1000), 0)}))[tp]
        consumer.seek(tp, found.offset if found is not None else end)
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                if record.offset < end:
                    visit(record.key, record.value)
    finally:
        await consumer.stop()


async def last_open_times(
    bootstrap: list[str], topic: str, partition: int, markets: set[str], since: datetime
) -> dict[str, datetime]:
    """The newest open time of each of ``markets`` found in ``topic[partition]`` from ``since``.

    A candle is published only after it closed, so a record holding a candle that opened at
    or after ``since`` was produced after ``since``.
    """
    last: dict[str, datetime] = {}

    def visit(key: bytes | None, value: bytes | None) -> None:
        try:
            market = decode_key(key)
            if market not in markets:
                return
            candle = parse_bytes(Candle, value)
        except MalformedMessage:
            return
        if market not in last or candle.open_time > last[market]:
            last[market] = candle.open_time

    await scan_partition(bootstrap, topic, partition, since, visit)
    return last


async def last_signals(bootstrap: list[str], topic: str, partition: int, since: datetime) -> dict[str, datetime]:
    """The newest signalled candle of each strategy instance in ``topic[partition]`` from ``since``."""
    last: dict[str, datetime] = {}

    def visit(key: bytes | None, value: bytes | None) -> None:
        try:
            signal = parse_bytes(Signal, value)
        except MalformedMessage:
            return
        if signal.strategy_id not in last or signal.candle_time > last[signal.strategy_id]:
            last[signal.strategy_id] = signal.candle_time

    await scan_partition(bootstrap, topic, partition, since, visit)
    return last
