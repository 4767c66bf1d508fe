"""DataCollect: the workload agent, the collector timer and the candle fan-out agent.

Consumes ``workloadcommands`` (key market) into the ``workloads`` table (its only writer).
Each worker's collector timer collects the active workloads of the partitions it owns and
produces ``marketdata`` (key market); invalid exchange candles go to ``deadletters``.
The fan-out agent consumes ``marketdata`` (co-partitioned with ``workloads``) and produces
``strategiesdata`` (key strategyId); the sessions' prices go on from the strategy agent, in
order with their instance's signals.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from faust.types import StreamT
from mode.types.signals import BaseSignalT

from ..application import app, settings
from ..catalogue import MARKETDATA, STRATEGIESDATA, WORKLOADCOMMANDS
from ..collection import collector, owned_workloads, registry, scan_cursors
from ..domain.fanout import strategy_candles
from ..domain.workloads import apply_workload_command
from ..models import Candle, WorkloadCommand
from ..streams import consume
from ..tables.workloads import workloads
from ..topics import channel, publish_many

log = logging.getLogger(__name__)


@app.agent(channel(WORKLOADCOMMANDS), name="workloads")
async def workload_agent(stream: StreamT[bytes]) -> None:
    """Acquire/release of a market by a strategy instance for a session."""
    await consume(stream, WORKLOADCOMMANDS, take_workload_command)


async def take_workload_command(command: WorkloadCommand) -> None:
    updated = apply_workload_command(workloads.get(command.market), command)
    if updated is not None:
        workloads[command.market] = updated


@app.agent(channel(MARKETDATA), name="fanout")
async def fanout_agent(stream: StreamT[bytes]) -> None:
    """Each candle to the strategy instances that need its market."""
    await consume(stream, MARKETDATA, fan_out)


async def fan_out(candle: Candle) -> None:
    workload = workloads.get(candle.market)
    if workload is None or not workload.active:
        return
    await publish_many(STRATEGIESDATA, strategy_candles(candle, workload), confirm=False)


@app.timer(interval=settings.collect_interval, name="collector")
async def collect_timer() -> None:
    """Bring the markets of this worker's partitions up to date (cursors read back first where
    needed); each market in its own task, so one that hangs or fails holds up no other."""
    if app.rebalancing or not cast(Any, app.tables).recovery.completed.is_set():
        return
    try:
        await collector.collect(owned_workloads(), scan_cursors)
    except Exception:  # noqa: BLE001 - a failed round must not stop the timer; the next one retries
        log.exception("collector round failed")


@app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types the receiver too narrowly
async def stop_publishing(sender: Any, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    """A rebalance starts: the collector abandons its markets' work and must not publish until
    it re-reads its cursors."""
    await collector.on_rebalance()


@app.on_before_shutdown.connect  # type: ignore[arg-type]
async def close_exchanges(sender: Any, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    await registry.close()
