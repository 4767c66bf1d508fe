"""Position messages: a session's holding in one market, its money and what it is waiting for.

In: position tracking. Out: ``Position`` in the ``positions`` table and on ``positions``
(key sessionId); ``Trade`` round trips in the ``trades`` table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from .base import Record
from .enums import Direction, OrderPurpose, OrderSide
from .market import Candle
from .signals import Signal


class InFlight(Record):
    """The session's order not yet final: its id, why, which side, what of it is applied."""

    order_id: str
    purpose: OrderPurpose
    side: OrderSide
    decided_at: datetime
    filled: Decimal = Decimal(0)
    reports: int = 0  # sequence of the last execution report applied


class Position(Record):
    """Signed quantity (negative is short), average entry, money, protective levels, order in flight.

    ``cash`` and ``fees`` are in the quote currency; equity is cash + quantity x ``mark_price``.
    ``realized_pnl`` is gross of fees (net = realized - fees). ``seen`` and ``pending``: the
    candles and signals that came while an order was in flight, taken in candle order once it
    ends (its levels checked, its signals decided), so decisions follow event time at any speed.
    """

    session_id: str
    exchange: str
    symbol: str
    quantity: Decimal
    average_entry_price: Decimal
    realized_pnl: Decimal
    updated_at: datetime
    stop_loss: Optional[Decimal] = None
    take_profit: Optional[Decimal] = None
    capital: Decimal = Decimal(0)
    cash: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    open_fees: Decimal = Decimal(0)
    trailing_pct: Optional[Decimal] = None
    best_price: Optional[Decimal] = None
    mark_price: Optional[Decimal] = None
    wanted: Optional[Direction] = None
    in_flight: Optional[InFlight] = None
    last_candle_time: Optional[datetime] = None
    seen: list[Candle] = []
    pending: list[Signal] = []
    opened_at: Optional[datetime] = None
    decisions: int = 0  # orders decided so far: numbers the next order id
    trades: int = 0
    entry_order_id: Optional[str] = None  # of the open trade
    closed_quantity: Decimal = Decimal(0)  # of the open trade, by its exits so far
    closed_value: Decimal = Decimal(0)
    closed_fees: Decimal = Decimal(0)
    closed_pnl: Decimal = Decimal(0)
    last_final: Optional[str] = None  # the order that ended last (its late reports are repeats)
    closing: bool = False  # the session stopped without keep_positions: exit once nothing is in flight
    overflowed: bool = False  # the backlog of the order in flight lost its oldest entries (told once)


class Trade(Record):
    """One round trip of a session: entry to exit, with its fees and net PnL."""

    session_id: str
    number: int
    side: OrderSide  # of the entry
    quantity: Decimal
    entry_time: datetime
    entry_price: Decimal
    exit_time: datetime
    exit_price: Decimal
    fees: Decimal
    pnl: Decimal
    exit_reason: OrderPurpose
    entry_order_id: str
    exit_order_id: str


class TradeLog(Record):
    """The ``trades`` table value: a session's latest round trips, oldest first (bounded)."""

    session_id: str
    trades: list[Trade] = []


class BacktestResult(Record):
    """What the backtest driver made of a backtest session's range: its final position and its
    latest round trips (at most the trades table's 1,000), or why it could not run."""

    job_id: str
    trades: list[Trade] = []
    trades_total: int = 0
    position: Optional[Position] = None
    error: Optional[str] = None
