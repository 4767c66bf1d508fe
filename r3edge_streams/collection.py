"""The collector of this worker, wired to Kafka: exchanges, candle sink, owned workloads.

In: settings, the ``workloads`` table and the partition assignment. Out: ``collector`` (the
one :class:`~r3edge_streams.collector.Collector` of this worker, run by the DataCollect timer
and read by the workload views), ``registry`` (exchange clients), ``histories`` (their candle
history through the local cache: warm-ups, the candles view), and the helpers that tell
which workloads this worker owns and read cursors back from ``marketdata``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .application import app, settings
from .catalogue import DEADLETTERS, MARKETDATA, WORKLOADCOMMANDS, TopicSpec
from .collector import Collector
from .domain.candles import Fetched
from .exchanges.history import Histories
from .exchanges.registry import REPLAY_ID, ExchangeRegistry
from .logscan import last_open_times
from .models import Candle, Workload
from .models.codec import partition_of
from .provisioning import bootstrap_servers
from .streams import rejected_candle
from .tables.workloads import workloads
from .topics import publish_many, seal_key, topic_name

registry = ExchangeRegistry(settings)
#: the candle history per exchange that warm-ups and the candles view read (the replay's in memory)
histories = Histories(registry.get, settings.data_dir / "history.sqlite", lambda exchange: exchange == REPLAY_ID)


class KafkaCandleSink:
    """Publishes candles on ``marketdata``.

    Records keep the producer's wall-clock timestamp, never the candle's open time: Kafka's
    time retention would delete replayed history (open times years ago) as soon as written.
    """

    async def publish(self, candles: list[Candle]) -> None:
        await publish_many(MARKETDATA, candles)

    async def reject(self, rejected: list[tuple[Fetched, str]]) -> None:
        letters = [rejected_candle(candle, reason) for candle, reason in rejected]
        await publish_many(DEADLETTERS, letters, key="exchange")


collector = Collector(
    exchanges=registry.get,
    sink=KafkaCandleSink(),
    lookback=settings.collect_lookback,
    concurrency=settings.collect_concurrency,
    round_timeout=settings.collect_round_timeout,
    patience=settings.collect_interval,  # a round waits this long for its markets, then the timer goes on
    partition_of=lambda market: partition_of(market, settings.partitions),
)


def owned_partitions(source: TopicSpec[Any] = WORKLOADCOMMANDS) -> set[int]:
    """Partitions of ``source`` (and so of every table and topic co-partitioned with it) owned here."""
    topic = topic_name(source)
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


def owned_workloads() -> list[Workload]:
    """The active workloads whose partition this worker owns."""
    mine = owned_partitions()
    return [
        w for market, w in list(workloads.items()) if w.active and partition_of(market, settings.partitions) in mine
    ]


async def scan_cursors(markets: list[str], since: datetime) -> dict[str, datetime]:
    """Last published open time of each market, read back from ``marketdata``."""
    by_partition: dict[int, set[str]] = {}
    for market in markets:
        by_partition.setdefault(partition_of(market, settings.partitions), set()).add(market)
    found: dict[str, datetime] = {}
    for partition, group in by_partition.items():
        found.update(
            await last_open_times(
                bootstrap_servers(settings.broker), topic_name(MARKETDATA), partition, group, since, seal_key()
            )
        )
    return found
