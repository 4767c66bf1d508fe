"""StrategyExecutor: the activation agent and the strategy agent.

Activation consumes ``strategycommands`` (key strategyId) into the ``active_strategies`` table
(its only writer) and produces ``workloadcommands`` (key market): acquire for a session that
starts following an instance, release for one that stops.
The strategy agent consumes ``strategiesdata`` (key strategyId, co-partitioned with
``active_strategies``), keeps each instance's window in ``strategy_windows`` (its only writer),
and produces ``signals`` and one ``sessionsrequest`` per following session; a failing
strategy is marked failed there and notified, the others go on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Sequence

from faust.types import StreamT

from ..application import app
from ..collection import registry
from ..domain.activation import apply_strategy_command
from ..domain.candles import close_time, is_closed, timeframe_delta
from ..domain.notices import strategy_failed
from ..exchanges.base import ExchangeError
from ..models import ActiveStrategy, Candle, StrategyCandle, StrategyCommand
from ..strategies.base import Strategy, StrategyError
from ..strategies.registry import create
from ..strategies.runner import step
from ..streams import accepted
from ..tables.active_strategies import active_strategies
from ..tables.strategy_windows import strategy_windows
from ..topics import publish, publish_many, strategiesdata, strategycommands

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
        if instance is None or not instance.active or (window is not None and window.failed):
            continue
        strategy = _strategy(instance)
        if strategy is None:
            continue
        history = await _history(instance, message.candle, strategy.warmup) if window is None else []
        result = step(instance, window, message.candle, strategy, history)
        if result.window is None:
            continue
        if result.window.failed:
            log.warning("strategy %s failed: %s", message.strategy_id, result.window.failed)
            await publish("notifications", strategy_failed(instance, result.window.failed, close_time(message.candle)))
        elif result.signal is not None:
            # confirmed before the window records the candle: a crash in between repeats the
            # signal (same ids, droppable) rather than losing it
            await publish_many("signals", [result.signal])
            await publish_many("sessionsrequest", result.requests)
        strategy_windows[message.strategy_id] = result.window


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
