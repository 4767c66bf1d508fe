"""StrategyExecutor: the activation agent and the strategy agent.

Activation consumes ``strategycommands`` (key strategyId) into the ``active_strategies`` table
(its only writer) and produces ``workloadcommands`` (key market): acquire for a session that
starts following an instance, release for one that stops.
The strategy agent consumes ``strategiesdata`` (key strategyId, co-partitioned with
``active_strategies``), keeps each instance's window in ``strategy_windows`` (its only writer),
and produces, per following session, the candle's price on ``sessionsrequest`` (its range, for
the session's protective levels) and then the signal's request, then the signal on ``signals``;
a window that missed candles (the candle's link to its predecessor points past the window,
as after a failover) first catches up on them from the exchange, deciding each in order;
a failing strategy is marked failed there and notified, the others go on. A signal already on
``signals`` (sent by a worker that died before writing its window) is not sent again.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from faust.types import StreamT
from mode.types.signals import BaseSignalT

from ..application import app, settings
from ..catalogue import NOTIFICATIONS, SESSIONSREQUEST, SIGNALS, STRATEGIESDATA, STRATEGYCOMMANDS, WORKLOADCOMMANDS
from ..collection import histories, registry
from ..domain.activation import apply_strategy_command
from ..domain.candles import close_time, is_closed, timeframe_delta
from ..domain.fanout import price_updates
from ..domain.notices import strategy_failed
from ..exchanges.errors import ExchangeError
from ..exchanges.market_data import MarketData
from ..logscan import last_signals
from ..models import ActiveStrategy, Candle, StrategyCandle, StrategyCommand, StrategyWindow
from ..provisioning import bootstrap_servers
from ..services import failpoints
from ..signalmemory import SignalMemory
from ..strategies.base import Strategy, StrategyError
from ..strategies.registry import create
from ..strategies.runner import Step, catch_up, fresh, halted, missed, step
from ..streams import consume
from ..tables.active_strategies import active_strategies
from ..tables.strategy_windows import strategy_windows
from ..topics import channel, publish, publish_many, seal_key, topic_name

log = logging.getLogger(__name__)
HISTORY_PATIENCE = 10.0  # seconds to wait for an exchange clock that lags the candle to warm from
HISTORY_TIMEOUT = 20.0  # seconds a warm-up or catch-up may wait for the exchange (then: start cold)
HISTORY_WIDENING = (1, 4, 16)  # look-backs, in warm-ups, tried until the warm-up is full
MAX_CATCH_UP = 1000  # candles a window may have missed and still catch up on (else it warms afresh)
_built: dict[str, tuple[int, Strategy]] = {}


class _Unpacked:
    """The candles of the windows this worker last wrote, kept unpacked: a window is unpacked
    from its compact rows only when it comes from elsewhere (a restart, a takeover)."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[StrategyWindow, tuple[Candle, ...]]] = {}

    def get(self, window: StrategyWindow | None) -> tuple[Candle, ...] | None:
        if window is None:
            return None
        kept = self._kept.get(window.strategy_id)
        if kept is None or not _same(kept[0], window):
            return None
        return kept[1]

    def keep(self, window: StrategyWindow, candles: tuple[Candle, ...]) -> None:
        self._kept[window.strategy_id] = (window, candles)


def _same(one: StrategyWindow, other: StrategyWindow) -> bool:
    """Whether two windows of one instance hold the same candles (this agent alone writes them,
    always a suffix of one growing series, so the ends and the length tell)."""
    return (
        one.generation == other.generation
        and len(one.rows) == len(other.rows)
        and one.rows[:1] == other.rows[:1]
        and one.rows[-1:] == other.rows[-1:]
    )


_unpacked = _Unpacked()


@app.agent(channel(STRATEGYCOMMANDS), name="activation")
async def activation_agent(stream: StreamT[bytes]) -> None:
    """Follow/unfollow: update the instance, then ask data collection for its market."""
    await consume(stream, STRATEGYCOMMANDS, take_strategy_command)


async def take_strategy_command(command: StrategyCommand) -> None:
    outcome = apply_strategy_command(active_strategies.get(command.strategy_id), command)
    if outcome is not None:
        instance, workload_commands = outcome
        await publish_many(WORKLOADCOMMANDS, workload_commands)  # confirmed before the table write
        active_strategies[command.strategy_id] = instance


@app.agent(channel(STRATEGIESDATA), name="strategies")
async def strategy_agent(stream: StreamT[bytes]) -> None:
    """Each closed candle once per instance: window, decision, signal to every follower."""

    async def take(message: StrategyCandle) -> None:
        await take_candle(message, stream)

    await consume(stream, STRATEGIESDATA, take)


async def take_candle(message: StrategyCandle, stream: StreamT[bytes]) -> None:
    instance = active_strategies.get(message.strategy_id)
    if instance is None or not instance.active:
        return
    window = strategy_windows.get(message.strategy_id)
    strategy = None if halted(instance, window) else _strategy(instance)
    if strategy is None:  # failed until a reset, or cannot be built: its sessions' levels still need prices
        await publish_many(SESSIONSREQUEST, price_updates(message.candle, instance.sessions), confirm=False)
        return
    candles: Sequence[Candle] = [message.candle]
    if window is not None and missed(window, message.candle):
        gap = await _missed(instance, window, message.candle)
        if gap is None:
            log.warning(
                "%s missed candles before %s that the exchange cannot give: warming afresh",
                instance.strategy_id,
                message.candle.open_time.isoformat(),
            )
            window = None
        candles = [*(gap or []), message.candle]
    updated = await _decide(instance, window, candles, strategy, stream)
    if updated is not None:
        strategy_windows[message.strategy_id] = updated


async def _decide(
    instance: ActiveStrategy,
    window: StrategyWindow | None,
    candles: Sequence[Candle],
    strategy: Strategy,
    stream: StreamT[bytes],
) -> StrategyWindow | None:
    """Step through ``candles`` in order, sending each step's effects; the last new window."""
    updated = None
    for candle in candles:
        history = await _history(instance, candle, strategy.warmup) if fresh(instance, window) else []
        result = step(instance, window, candle, strategy, history, _unpacked.get(window))
        if result.window is None:
            continue
        await _effects(instance, result, stream)
        window = updated = result.window
        _unpacked.keep(result.window, result.candles)
        if window.failed:
            break
    return updated


async def _missed(instance: ActiveStrategy, window: StrategyWindow, candle: Candle) -> list[Candle] | None:
    """The candles between the window and ``candle`` that this instance never got, from the exchange."""
    assert window.last_open is not None
    try:
        async with asyncio.timeout(HISTORY_TIMEOUT):
            exchange = registry.get(instance.exchange)
            await exchange.observe(close_time(candle))
            await _caught_up(exchange, close_time(candle))
            fetched = await exchange.fetch_candles(
                instance.symbol, instance.timeframe, window.last_open + timeframe_delta(candle.timeframe), MAX_CATCH_UP
            )
    except (ExchangeError, TimeoutError) as exc:
        log.warning("cannot fetch the candles %s missed: %s", instance.strategy_id, exc)
        return None
    return catch_up(window, candle, [c for c in fetched if isinstance(c, Candle)])


async def _effects(instance: ActiveStrategy, result: Step, stream: StreamT[bytes]) -> None:
    """Send what the step decided, confirmed, before the window records the candle (a candle the
    window holds is never stepped again, so what it sent must be in Kafka first).

    Each session's price of the candle goes before its signal (one partition per session: it
    takes them in event order). Session requests go first and the signal last, so a signal on
    ``signals`` means its requests were sent: a new owner that finds it there sends neither again.
    """
    assert result.window is not None
    if result.window.failed:
        log.warning("strategy %s failed: %s", instance.strategy_id, result.window.failed)
        await publish_many(SESSIONSREQUEST, result.requests)  # the candle's prices still go, confirmed
        await publish(NOTIFICATIONS, strategy_failed(instance, result.window.failed, close_time(result.candles[-1])))
        return
    if result.signal is None:
        await publish_many(SESSIONSREQUEST, result.requests)  # prices only; confirmed before the window
        return
    event = stream.current_event
    assert event is not None
    produced = datetime.fromtimestamp(event.message.timestamp, tz=timezone.utc)
    if await memory.signalled(event.message.partition, produced, instance.strategy_id, result.signal.candle_time):
        return
    await publish_many(SESSIONSREQUEST, result.requests)
    await publish_many(SIGNALS, [result.signal])
    failpoints.reach("strategies.after_signal")  # tests crash here: effects sent, window not written


async def _scan_signals(partition: int, since: datetime) -> dict[str, datetime]:
    return await last_signals(bootstrap_servers(settings.broker), topic_name(SIGNALS), partition, since, seal_key())


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
    """The ``warmup - 1`` closed candles before ``candle``, to warm a new window (fewer if the
    exchange cannot say), read through the worker's candle history (its local cache: a warm-up
    asks the exchange only for what was never asked).

    Markets have gaps (minutes without trades), so the look-back widens until enough candles
    are found. The exchange is asked only once its clock has passed the candle's close: a
    worker whose view of the exchange lags the collector's (replays started at different
    moments) would otherwise get a history that stops short, and a window with a hole decides
    wrongly.
    """
    needed = warmup - 1
    if needed <= 0:
        return []
    earlier: list[Candle] = []
    try:
        async with asyncio.timeout(HISTORY_TIMEOUT):
            exchange = registry.get(instance.exchange)
            await exchange.observe(close_time(candle))  # a replay's clock never lags a candle it published
            if not await _caught_up(exchange, close_time(candle)):
                log.warning(
                    "exchange %s is behind %s: warming %s with what it has",
                    instance.exchange,
                    close_time(candle).isoformat(),
                    instance.strategy_id,
                )
            history = histories.of(instance.exchange)
            for widen in HISTORY_WIDENING:
                since = candle.open_time - timeframe_delta(candle.timeframe) * needed * widen
                read = await history.read(instance.symbol, instance.timeframe, since, candle.open_time)
                earlier = [c for c in read.candles if is_closed(c, candle.open_time)]
                if len(earlier) >= needed:
                    break
    except (ExchangeError, TimeoutError, sqlite3.Error) as exc:
        log.warning("no history to warm %s up: %s", instance.strategy_id, exc)
    return earlier[-needed:]


async def _caught_up(exchange: MarketData, moment: datetime, patience: float = HISTORY_PATIENCE) -> bool:
    """Wait (at most ``patience`` seconds) until the exchange's clock reaches ``moment``."""
    deadline = asyncio.get_running_loop().time() + patience
    while await exchange.now() < moment:
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True
