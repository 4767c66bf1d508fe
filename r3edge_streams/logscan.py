"""Reading back what the workers published, to continue exactly after it.

In: bootstrap servers, one partition of a topic and a wall-clock bound ``since``. Out: for
``marketdata``, each market's last published open time (the collector's cursors); for
``signals``, each strategy instance's last signalled candle (the strategy agent's memory of
effects whose table write a crash lost). Records carry the wall-clock time they were produced,
so ``offsets_for_times(since)`` skips only records produced before ``since``.
A record that fails to decode or lacks this deployment's seal (:mod:`.seals`), for whatever
reason, is skipped, counted and logged here (the consuming agent dead-letters it): one bad
record never stops a read-back, and none from outside moves a cursor or hides a signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from .catalogue import MARKETDATA, SIGNALS, TopicSpec
from .models import decode_key
from .seals import check as check_seal

log = logging.getLogger(__name__)

#: looks at one record (key, value); may raise anything for a record it cannot decode
Visit = Callable[[bytes | None, bytes | None], None]


@dataclass
class Skipped:
    """The records of one scan that could not be decoded: how many, and the first one."""

    count: int = 0
    first: str | None = None

    def visit(self, visit: Visit, key: bytes | None, value: bytes | None, where: str) -> None:
        """``visit(key, value)``; a failure of any kind is counted and remembered, not raised."""
        try:
            visit(key, value)
        except Exception as exc:  # noqa: BLE001 - an undecodable record must not end the scan
            self.note(f"{where}: {type(exc).__name__}: {exc}")

    def note(self, problem: str) -> None:
        self.count += 1
        if self.first is None:
            self.first = problem[:300]


@dataclass(frozen=True)
class Sealed:
    """The seal a scanned topic's records must carry: the deployment's key and the catalogue topic."""

    key: bytes
    spec: TopicSpec[Any]

    def problem(self, key: bytes | None, value: bytes | None, headers: Any) -> str | None:
        return check_seal(self.key, self.spec.name, key, value, headers) if self.spec.sealed else None


async def scan_partition(
    bootstrap: list[str], topic: str, partition: int, since: datetime, visit: Visit, sealed: Sealed
) -> Skipped:
    """Call ``visit(key, value)`` for every sealed record of ``topic[partition]`` produced from ``since`` on.

    Returns what was skipped (unsealed records, records whose visit raised); a warning names the first one.
    """
    skipped = Skipped()
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
                if record.offset >= end:
                    continue
                where = f"{topic}[{partition}]@{record.offset}"
                problem = sealed.problem(record.key, record.value, record.headers)
                if problem is not None:
                    skipped.note(f"{where}: {problem}")
                else:
                    skipped.visit(visit, record.key, record.value, where)
    finally:
        await consumer.stop()
    if skipped.count:
        log.warning(
            "read-back of %s[%d] skipped %d undecodable records; first %s",
            topic,
            partition,
            skipped.count,
            skipped.first,
        )
    return skipped


def open_time_visit(markets: set[str], last: dict[str, datetime]) -> Visit:
    """A visit keeping, in ``last``, the newest candle open time of each of ``markets``."""

    def visit(key: bytes | None, value: bytes | None) -> None:
        market = decode_key(key)
        if market is None or market not in markets:
            return
        _, candle = MARKETDATA.decode(key, value)  # a candle the fan-out would refuse is no cursor
        if market not in last or candle.open_time > last[market]:
            last[market] = candle.open_time

    return visit


def signal_visit(last: dict[str, datetime]) -> Visit:
    """A visit keeping, in ``last``, the newest signalled candle of each strategy instance."""

    def visit(key: bytes | None, value: bytes | None) -> None:
        _, signal = SIGNALS.decode(key, value)
        if signal.strategy_id not in last or signal.candle_time > last[signal.strategy_id]:
            last[signal.strategy_id] = signal.candle_time

    return visit


async def last_open_times(
    bootstrap: list[str], topic: str, partition: int, markets: set[str], since: datetime, seal_key: bytes
) -> dict[str, datetime]:
    """The newest open time of each of ``markets`` found in ``topic[partition]`` from ``since``.

    A candle is published only after it closed, so a record holding a candle that opened at
    or after ``since`` was produced after ``since``.
    """
    last: dict[str, datetime] = {}
    await scan_partition(
        bootstrap, topic, partition, since, open_time_visit(markets, last), Sealed(seal_key, MARKETDATA)
    )
    return last


async def last_signals(
    bootstrap: list[str], topic: str, partition: int, since: datetime, seal_key: bytes
) -> dict[str, datetime]:
    """The newest signalled candle of each strategy instance in ``topic[partition]`` from ``since``."""
    last: dict[str, datetime] = {}
    await scan_partition(bootstrap, topic, partition, since, signal_visit(last), Sealed(seal_key, SIGNALS))
    return last
