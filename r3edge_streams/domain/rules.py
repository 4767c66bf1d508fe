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
    AccountAction,
    AccountEvent,
    BacktestJob,
    BacktestOutcome,
    Candle,
    ExecutionReport,
    Order,
    Position,
    RawOrder,
    RequestKind,
    SessionRequest,
    Signal,
    StrategyCandle,
    StrategyCommand,
    SweepEvent,
    SweepEventKind,
    VenueEvent,
    WorkloadCommand,
)
from .candles import candle_problem
from .markets import exchange_error, symbol_error, timeframe_error
from .money import account_of, client_order_id

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
    if request.kind is RequestKind.BACKTEST and request.result is None:
        return "a backtest request needs its result"
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


def _negative(record: object, *names: str) -> str | None:
    for name in names:
        value = getattr(record, name)
        if value is not None and value < _ZERO:
            return f"{name} must not be negative, got {value}"
    return None


def raw_order_rule(order: RawOrder) -> str | None:
    """A raw order: a known market, a positive reference price, no negative money."""
    problem = exchange_error(order.exchange) or symbol_error(order.symbol) or timeframe_error(order.timeframe)
    if problem is not None:
        return problem
    if order.reference_price <= _ZERO:
        return f"reference_price must be positive, got {order.reference_price}"
    return _negative(order, "equity", "cash", "quantity", "trigger_price", "stop_price", "limit_price")


def order_rule(order: Order) -> str | None:
    """A sized order: a positive quantity, a client order id derived from the order id."""
    if order.quantity <= _ZERO:
        return f"quantity must be positive, got {order.quantity}"
    if order.client_order_id != client_order_id(order.order_id):
        return f"client_order_id {order.client_order_id!r} is not the one derived from order {order.order_id!r}"
    return _negative(order, "notional", "cash", "holding", "trigger_price", "limit_price")


def execution_rule(report: ExecutionReport) -> str | None:
    """An execution report: no negative quantity, a positive price for a fill."""
    if report.last_quantity > _ZERO and (report.last_price is None or report.last_price <= _ZERO):
        return "a fill needs a positive last_price"
    return _negative(report, "filled_quantity", "last_quantity", "average_price")


def account_event_rule(event: AccountEvent) -> str | None:
    """An account event: a reserve or pass carries its order, of that account; no negative notional."""
    if event.action in (AccountAction.RESERVE, AccountAction.PASS):
        if event.order is None:
            return f"a {event.action.value} event needs its order"
        problem = order_rule(event.order)
        if problem is not None:
            return f"order: {problem}"
        if account_of(event.order.session_id, event.order.account) != event.account:
            return f"order {event.order.order_id} is not of account {event.account!r}"
    return _negative(event, "notional")


def venue_event_rule(event: VenueEvent) -> str | None:
    """A venue event: every fill of a positive quantity at a positive price."""
    for fill in event.fills:
        if fill.quantity <= _ZERO or fill.price <= _ZERO:
            return f"fill {fill.trade_id}: quantity and price must be positive"
    return None


def backtest_job_rule(job: BacktestJob) -> str | None:
    """A job on ``backtestjobs``: an id, a market the engine knows, a range that is not empty."""
    if not job.job_id:
        return "job_id must not be empty"
    if job.start >= job.end:
        return "start must be before end"
    return market_problem(job.spec)


def sweep_event_rule(event: SweepEvent) -> str | None:
    """A sweep's event: a creation lists its jobs, a result names its job."""
    if event.kind is SweepEventKind.CREATED and not event.jobs:
        return "a created sweep lists its jobs"
    if event.kind is SweepEventKind.RESULT and not event.job_id:
        return "a result names its job"
    return None


def backtest_outcome_rule(outcome: BacktestOutcome) -> str | None:
    """A job's end: done with a report, or failed with its reason."""
    if not outcome.status.final:
        return "an outcome is a job's end: done or failed"
    if (outcome.report is None) == (outcome.error is None):
        return "a done job has a report, a failed one an error, and only that"
    return None
