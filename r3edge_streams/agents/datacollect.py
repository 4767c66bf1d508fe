"""DataCollect: the workload agent, the collector timer and the candle fan-out agent.

Consumes ``workloadcommands`` (key market) into the ``workloads`` table (its only writer).
Each worker's collector timer collects the active workloads of the partitions it owns and
produces ``marketdata`` (key market); invalid exchange candles go to ``deadletters``.
The fan-out agent consumes ``marketdata`` (co-partitioned with ``workloads``) and produces
``strategiesdata`` (key strategyId) and price ``sessionsrequest`` (key sessionId).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, cast

from faust.types import StreamT
from mode.types.signals import BaseSignalT

from ..application import app, settings
from ..collector import Collector
from ..domain.fanout import price_updates, strategy_candles
from ..domain.workloads import apply_workload_command
from ..exchanges.registry import ExchangeRegistry
from ..marketlog import last_open_times
from ..models import Candle, Workload, WorkloadCommand
from ..models.base import Record
from ..models.codec import partition_of
from ..provisioning import bootstrap_servers
from ..streams import accepted, rejected_candle
from ..tables.workloads import workloads
from ..topics import marketdata, publish_many, workloadcommands

log = logging.getLogger(__name__)
registry = ExchangeRegistry(settings)


class KafkaCandleSink:
    """Publishes candles on ``marketdata`` (timestamped with their open time)."""

    async def publish(self, candles: list[Candle]) -> None:
        await publish_many("marketdata", candles, timestamp=_open_time)

    async def reject(self, rejected: list[tuple[Candle, str]]) -> None:
        letters = [rejected_candle(candle, reason) for candle, reason in rejected]
        await publish_many("deadletters", letters, key="exchange")


def _open_time(record: Record) -> datetime:
    return cast(Candle, record).open_time


collector = Collector(exchanges=registry.get, sink=KafkaCandleSink(), lookback=settings.collect_lookback)


@app.agent(workloadcommands, name="workloads")
async def workload_agent(stream: StreamT[bytes]) -> None:
    """Acquire/release of a market by a strategy instance for a session."""
    async for market, command in accepted(stream, "workloadcommands", WorkloadCommand):
        updated = apply_workload_command(workloads.get(command.market), command)
        if updated is not None:
            workloads[command.market] = updated


@app.agent(marketdata, name="fanout")
async def fanout_agent(stream: StreamT[bytes]) -> None:
    """Each candle to the strategy instances and sessions that need its market."""
    async for _, candle in accepted(stream, "marketdata", Candle):
        workload = workloads.get(candle.market)
        if workload is None or not workload.active:
            continue
        await publish_many("strategiesdata", strategy_candles(candle, workload), confirm=False)
        await publish_many("sessionsrequest", price_updates(candle, workload), confirm=False)


@app.timer(interval=settings.collect_interval, name="collector")
async def collect_timer() -> None:
    """Bring the markets of this worker's partitions up to date."""
    if app.rebalancing or not cast(Any, app.tables).recovery.completed.is_set():
        return
    owned = owned_workloads()
    await collector.recover(owned, scan_cursors, datetime.now(timezone.utc))
    await collector.collect(owned)


def owned_partitions() -> set[int]:
    """Partitions of ``workloadcommands`` (so of ``workloads`` and ``marketdata``) owned here."""
    topic = workloadcommands.get_topic_name()
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


def owned_workloads() -> list[Workload]:
    """The active workloads whose partition this worker owns."""
    mine = owned_partitions()
    return [w for market, w in list(workloads.items())
            if w.active and partition_of(market, settings.partitions) in mine]


async def scan_cursors(markets: list[str], since: datetime) -> dict[str, datetime]:
    """Last published open time of each market, read back from ``marketdata``."""
    by_partition: dict[int, set[str]] = {}
    for market in markets:
        by_partition.setdefault(partition_of(market, settings.partitions), set()).add(market)
    found: dict[str, datetime] = {}
    for partition, group in by_partition.items():
        found.update(await last_open_times(bootstrap_servers(settings.broker), marketdata.get_topic_name(),
                                           partition, group, since))
    return found


@app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types the receiver too narrowly
async def stop_publishing(sender: Any, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    """A rebalance starts: the collector must not publish until it re-reads its cursors."""
    await collector.on_rebalance()


@app.on_before_shutdown.connect  # type: ignore[arg-type]
async def close_exchanges(sender: Any, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    await registry.close()
