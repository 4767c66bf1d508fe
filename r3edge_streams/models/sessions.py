"""Session messages: what a session is, the commands that change it, and requests to it.

In: REST bodies and Kafka commands. Out: ``SessionCommand`` on ``sessioncommands``,
``SessionState`` in the ``sessions`` table, ``SessionRequest`` on ``sessionsrequest`` and what of
it reached each session, ``SessionFeed`` in the ``session_feeds`` table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Optional

from .base import Record
from .enums import CommandKind, RequestKind, SessionMode, SessionStatus, SizingMethod
from .market import Candle
from .positions import BacktestResult
from .signals import Signal


class RiskParams(Record):
    """Money management limits of a session (fractions are of the session's equity).

    ``sizing`` chooses the entry size: ``fraction`` buys ``position_fraction`` of equity,
    ``risk`` loses ``risk_per_trade`` of equity if the stop-loss (``stop_loss_pct`` away, which it
    requires) is hit; both are capped at ``max_position_fraction`` of equity and by the cash the
    session has. ``trailing_stop_pct``: an exit that follows the best price since entry at this
    distance. ``allow_short``: a SHORT signal may open a short (only where the market can short).
    """

    capital: Decimal = Decimal("10000")  # starting equity in the quote currency (paper, backtest)
    risk_per_trade: Decimal = Decimal("0.01")  # equity lost if a stop-loss is hit
    max_position_fraction: Decimal = Decimal("0.25")  # notional of one position at most
    stop_loss_pct: Optional[Decimal] = None  # distance from entry, in percent
    take_profit_pct: Optional[Decimal] = None
    max_open_positions: int = 1
    sizing: SizingMethod = SizingMethod.FRACTION
    position_fraction: Decimal = Decimal("0.1")  # of equity per entry, with sizing=fraction
    trailing_stop_pct: Optional[Decimal] = None  # distance from the best price since entry, in percent
    allow_short: bool = False


class FillModel(Record):
    """How the paper venue fills a session's orders: fee on each fill's notional, slippage against it."""

    fee_bps: Decimal = Decimal("10")  # 10 bps = 0.1 %, in the quote currency
    slippage_bps: Decimal = Decimal("0")  # buys fill this much higher, sells this much lower


class AutoStop(Record):
    """When the engine stops a session by itself (each condition optional)."""

    max_duration_seconds: Optional[int] = None  # of running since the first start
    loss_limit: Optional[Decimal] = None  # stop once PnL <= -loss_limit (quote currency)
    gain_target: Optional[Decimal] = None  # stop once PnL >= gain_target


class BacktestRange(Record):
    """The candles a backtest session runs on: those opening in [start, end)."""

    start: datetime
    end: datetime


class SessionSpec(Record):
    """What a trader asks to run: a strategy instance on a market, in a mode, within limits.

    ``account`` names exchange credentials configured on the workers (never the secrets).
    """

    strategy: str
    parameters: dict[str, Any]
    exchange: str
    symbol: str
    timeframe: str
    mode: SessionMode
    refresh_seconds: int
    account: Optional[str] = None
    risk: RiskParams = RiskParams()
    auto_stop: AutoStop = AutoStop()
    fills: FillModel = FillModel()  # paper and backtest sessions
    backtest: Optional[BacktestRange] = None  # a backtest session's range: run by the driver at once


class SessionCommand(Record):
    """A request to change session ``session_id``; ``command_id`` makes it idempotent.

    ``spec``: of a create, or the whole new spec of a modify. ``reason``: why (an auto-stop, a
    failure). ``keep_positions``: a stop that leaves open positions alone. ``expected_version``:
    apply only if the session is still at that version (optimistic concurrency).
    """

    command_id: str
    session_id: str
    kind: CommandKind
    issued_at: datetime
    spec: Optional[SessionSpec] = None
    reason: Optional[str] = None
    keep_positions: Optional[bool] = None
    expected_version: Optional[int] = None


class SessionState(Record):
    """The ``sessions`` table value: the session as its agent last wrote it."""

    session_id: str
    spec: SessionSpec
    status: SessionStatus
    version: int
    created_at: datetime
    updated_at: datetime
    last_command_id: str
    spec_version: int = 1  # bumped by each modify; the new spec applies from the next candle
    started_at: Optional[datetime] = None  # first start: auto-stop durations count from here
    reason: Optional[str] = None  # why it was stopped or failed
    keep_positions: bool = False  # a stop that leaves open positions open


class SessionRequest(Record):
    """Work for one session's position tracker: a signal, a tracking tick or a price update.

    A price update carries its whole closed ``candle`` (its ``previous_open`` links it to the
    market's candle before, so a tracker sees a gap) and its close as ``price``.
    """

    request_id: str
    session_id: str
    kind: RequestKind
    at: datetime
    signal: Optional[Signal] = None
    price: Optional[Decimal] = None
    candle: Optional[Candle] = None
    status: Optional[SessionStatus] = None  # of a session request: the status it moved to
    keep_positions: Optional[bool] = None  # of a session request that stops it
    result: Optional[BacktestResult] = None  # of a backtest request: what the driver made of its range


class SessionFeed(Record):
    """The ``session_feeds`` table value: what reached a session on ``sessionsrequest``, each once."""

    session_id: str
    signals: int
    prices: int
    ticks: int
    updated_at: datetime
    last_signal: Optional[Signal] = None
    last_price: Optional[Decimal] = None
    last_price_at: Optional[datetime] = None
    last_tick_at: Optional[datetime] = None
