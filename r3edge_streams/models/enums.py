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
