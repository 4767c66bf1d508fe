"""StrategyExecutor: the activation agent and the strategy agent.

Activation consumes ``strategycommands`` (key strategyId) into the ``active_strategies`` table
(its only writer) and produces ``workloadcommands`` (key market): acquire for a session that
starts following an instance, release for one that stops.
The strategy agent consumes ``strategiesdata`` (key strategyId, co-partitioned with
``active_strategies``), keeps each instance's window in ``strategy_windows`` (its only writer),
and produces one ``sessionsrequest`` per following session, then the signal on ``signals``;
a failing strategy is marked failed there and notified, the others go on. A signal already on
``signals`` (sent by a worker that died before writing its window) is not sent again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Sequence

from faust.types import StreamT
from mode.types.signals import BaseSignalT

from ..application import app, failpoints, settings
from ..collection import registry
from ..logscan import last_signals
from ..provisioning import bootstrap_servers
from ..signalmemory import SignalMemory
from ..domain.activation import apply_strategy_command
from ..domain.candles import close_time, is_closed, timeframe_delta
from ..domain.notices import strategy_failed
from ..exchanges.base import ExchangeError
from ..models import ActiveStrategy, Candle, StrategyCandle, StrategyCommand
from ..strategies.base import Strategy, StrategyError
from ..strategies.registry import create
from ..strategies.runner import Step, fresh, halted, step
from ..streams import accepted
from ..tables.active_strategies import active_strategies
from ..tables.strategy_windows import strategy_windows
from ..topics import publish, publish_many, signals, strategiesdata, strategycommands

log = logging.getLogger(__name__)
_built: dict[str, tuple[int, Strategy]] = {}


@app.agent(strategycommands, name="activation")
async def activation_agent(stream: StreamT[bytes]) -> None:
    """Follow/unfollow: update the instance, then ask data collection for its market."""
    async for _, command in accepted(stream, "strategycommands", StrategyCommand):
        outcome = apply_strategy_command(active_strategies.get(command.strategy_id), command)
        if outcome is not None:
            instance, workload_commands = outcome
            await publish_many("workloadcommands", workload_commands)  # confirmed before the table write
            active_strategies[command.strategy_id] = instance


@app.agent(strategiesdata, name="strategies")
async def strategy_agent(stream: StreamT[bytes]) -> None:
    """Each closed candle once per instance: window, decision, signal to every follower."""
    async for strategy_id, message in accepted(stream, "strategiesdata", StrategyCandle):
        instance = active_strategies.get(message.strategy_id)
        window = strategy_windows.get(message.strategy_id)
        if instance is None or not instance.active or halted(instance, window):
            continue
        strategy = _strategy(instance)
        if strategy is None:
            continue
        history = await _history(instance, message.candle, strategy.warmup) if fresh(instance, window) else []
        result = step(instance, window, message.candle, strategy, history)
        if result.window is None:
            continue
        await _effects(instance, result, stream)
        strategy_windows[message.strategy_id] = result.window


async def _effects(instance: ActiveStrategy, result: Step, stream: StreamT[bytes]) -> None:
    """Send what the step decided, confirmed, before the window records the candle.

    Session requests go first and the signal last, so a signal on ``signals`` means its
    requests were sent: a new owner that finds it there sends neither again.
    """
    assert result.window is not None
    if result.window.failed:
        log.warning("strategy %s failed: %s", instance.strategy_id, result.window.failed)
        await publish("notifications", strategy_failed(instance, result.window.failed,
                                                       close_time(result.window.candles[-1])))
        return
    if result.signal is None:
        return
    event = stream.current_event
    assert event is not None
    produced = datetime.fromtimestamp(event.message.timestamp, tz=timezone.utc)
    if await memory.signalled(event.message.partition, produced, instance.strategy_id, result.signal.candle_time):
        return
    await publish_many("sessionsrequest", result.requests)
    await publish_many("signals", [result.signal])
    failpoints.reach("strategies.after_signal")  # tests crash here: effects sent, window not written


async def _scan_signals(partition: int, since: datetime) -> dict[str, datetime]:
    return await last_signals(bootstrap_servers(settings.broker), signals.get_topic_name(), partition, since)


memory = SignalMemory(_scan_signals)


@app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types the receiver too narrowly
async def forget_signals(sender: Any, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    """Partitions move: read ``signals`` back again before signalling."""
    memory.forget()


def _strategy(instance: ActiveStrategy) -> Strategy | None:
    """The instance's strategy object, built once per instance version."""
    cached = _built.get(instance.strategy_id)
    if cached is None or cached[0] != instance.version:
        try:
            cached = (instance.version, create(instance.strategy, instance.parameters))
        except StrategyError as exc:
            log.warning("strategy %s cannot be built: %s", instance.strategy_id, exc)
            return None
        _built[instance.strategy_id] = cached
    return cached[1]


async def _history(instance: ActiveStrategy, candle: Candle, warmup: int) -> Sequence[Candle]:
    """Closed candles before ``candle`` to warm a new window (empty if the exchange cannot say)."""
    if warmup <= 1:
        return []
    since: datetime = candle.open_time - timeframe_delta(candle.timeframe) * (warmup - 1)
    try:
        fetched = await registry.get(instance.exchange).fetch_candles(instance.symbol, instance.timeframe, since,
                                                                      warmup)
    except ExchangeError as exc:
        log.warning("no history to warm %s up: %s", instance.strategy_id, exc)
        return []
    return [c for c in fetched if isinstance(c, Candle) and c.open_time < candle.open_time
            and is_closed(c, candle.open_time)]
