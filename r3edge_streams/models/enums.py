"""Enumerations shared by the messages. StrEnum, so they serialise as their plain value.

In: nothing. Out: the closed vocabularies of the system (directions, modes, statuses, kinds).
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """What a strategy wants the position to be."""

    LONG = "LONG"
    SHORT = "SHORT"
    FLAT = "FLAT"


class SessionMode(StrEnum):
    """Where a session's orders go: replayed history, simulated fills, or a real exchange."""

    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class SessionStatus(StrEnum):
    """Lifecycle state of a trading session."""

    CREATED = "created"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    FAILED = "failed"


class CommandKind(StrEnum):
    """What a session command asks for: the trader's lifecycle commands, and ``fail`` from the engine."""

    CREATE = "create"
    START = "start"
    STOP = "stop"
    SUSPEND = "suspend"
    RECOVER = "recover"
    MODIFY = "modify"
    DELETE = "delete"
    FAIL = "fail"


class RequestKind(StrEnum):
    """Why a session request was sent to a session's position tracker."""

    SIGNAL = "signal"
    TICK = "tick"
    PRICE = "price"
    SESSION = "session"  # the session's status changed (a stop, a fail, a suspend or recover)
    BACKTEST = "backtest"  # a backtest session's run ended: its trades and final position


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    """Order state as an execution report states it."""

    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        """No report can follow one with this status."""
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class OrderPurpose(StrEnum):
    """Why a session's position tracker decided an order: what the order lineage shows a trader."""

    ENTRY = "entry"
    EXIT = "exit"  # the strategy's signal left the position
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    SESSION_STOP = "session_stop"  # the session stopped or failed without keep_positions

    @property
    def protective(self) -> bool:
        """A level the position itself set (it fills at that level, not at the next open)."""
        return self in (OrderPurpose.STOP_LOSS, OrderPurpose.TAKE_PROFIT, OrderPurpose.TRAILING_STOP)


class SizingMethod(StrEnum):
    """How an entry's quantity follows from the session's equity."""

    FRACTION = "fraction"  # notional = equity x position_fraction
    RISK = "risk"  # quantity = equity x risk_per_trade / stop distance


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class WorkloadAction(StrEnum):
    """A strategy instance, for a session, starts or stops needing a market."""

    ACQUIRE = "acquire"
    RELEASE = "release"


class StrategyAction(StrEnum):
    """A session starts or stops following a strategy instance; a trader resets a failed one."""

    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    RESET = "reset"


class AccountAction(StrEnum):
    """What an account event asks of the account's exposure."""

    RESERVE = "reserve"  # a sized entry asks for room
    PASS = "pass"  # an exit: no room needed, goes on to the venue
    SETTLE = "settle"  # an entry ended: what it filled is held, the rest released
    RELEASE = "release"  # a session's position closed: what it held is released
    END = "end"  # an exit ended without filling: no longer open
    HALT = "halt"  # the account cannot be reconciled with its exchange: no new orders
    RESUME = "resume"  # reconciled again: new orders may go


class JobStatus(StrEnum):
    """Where a backtest job is: waiting for (or run by) the worker that owns it, or ended with a
    report or an error."""

    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)


class SweepEventKind(StrEnum):
    """A sweep's events for its one writer: its creation (the jobs it made), then each job's result."""

    CREATED = "created"
    RESULT = "result"
