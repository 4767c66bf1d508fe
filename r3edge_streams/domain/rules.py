"""The rules every message on a topic must keep beyond its type (pure): checked at each entry.

In: a decoded record from a topic. Out: why it breaks a rule of its topic (prices, quantities,
times, timeframes, market coordinates), or None. The catalogue names one rule per consumed
topic and :mod:`r3edge_streams.streams` dead-letters every message that breaks it before any
agent sees it, so a value no producer of the engine would send (a negative price, an unknown
timeframe) cannot reach the fan-out, a strategy or a session's feed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from ..models import (
    Candle,
    Position,
    RequestKind,
    SessionRequest,
    Signal,
    StrategyCandle,
    StrategyCommand,
    WorkloadCommand,
)
from .candles import candle_problem
from .markets import exchange_error, symbol_error, timeframe_error

_ZERO = Decimal(0)


class _OnMarket(Protocol):
    exchange: str
    symbol: str
    timeframe: str


def market_problem(value: _OnMarket) -> str | None:
    """Why the market coordinates of ``value`` are not ones the engine can collect, or None."""
    for name, problem in (
        ("exchange", exchange_error(value.exchange)),
        ("symbol", symbol_error(value.symbol)),
        ("timeframe", timeframe_error(value.timeframe)),
    ):
        if problem is not None:
            return f"{name} {getattr(value, name)!r}: {problem}"
    return None


def candle_rule(candle: Candle) -> str | None:
    """A candle on ``marketdata``: a market the engine knows and a valid closed candle."""
    problem = market_problem(candle) or candle_problem(candle)
    if problem is None and candle.previous_open is not None and candle.previous_open >= candle.open_time:
        problem = "previous_open must be before open_time"
    return problem


def strategy_candle_rule(message: StrategyCandle) -> str | None:
    """A candle for a strategy instance: the candle's own rule."""
    problem = candle_rule(message.candle)
    return f"candle: {problem}" if problem else None


def signal_rule(signal: Signal) -> str | None:
    """A signal: a known market and a positive price."""
    problem = market_problem(signal)
    if problem is None and signal.price <= _ZERO:
        problem = f"price must be positive, got {signal.price}"
    return problem


def request_rule(request: SessionRequest) -> str | None:
    """A session request carries what its kind needs, with positive prices."""
    if request.kind is RequestKind.SIGNAL:
        if request.signal is None:
            return "a signal request needs its signal"
        problem = signal_rule(request.signal)
        return f"signal: {problem}" if problem else None
    if request.kind is RequestKind.PRICE and request.price is None:
        return "a price request needs its price"
    if request.price is not None and request.price <= _ZERO:
        return f"price must be positive, got {request.price}"
    if request.candle is not None:
        problem = candle_rule(request.candle)
        if problem is None and request.price is not None and request.price != request.candle.close:
            problem = f"price {request.price} is not the close {request.candle.close} of its candle"
        return problem
    if request.kind is RequestKind.SESSION and request.status is None:
        return "a session request needs the status the session moved to"
    return None


def workload_command_rule(command: WorkloadCommand) -> str | None:
    """An acquire or release names a market the engine can collect."""
    return market_problem(command)


def strategy_command_rule(command: StrategyCommand) -> str | None:
    """A follow, unfollow or reset names a market the engine can collect."""
    return market_problem(command)


def position_rule(position: Position) -> str | None:
    """A position: non-negative entry price and protective levels."""
    for name in ("average_entry_price", "stop_loss", "take_profit"):
        level = getattr(position, name)
        if level is not None and level < _ZERO:
            return f"{name} must not be negative, got {level}"
    return None
