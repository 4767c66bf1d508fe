"""Order messages: intents without size, sized orders, and what the exchange answered.

In: position tracking (raw orders), money management (orders), order execution (reports).
Out: ``RawOrder`` on ``raworders``, ``Order`` on ``orders``, ``ExecutionReport`` on
``executions``. ``order_id`` is the idempotency key of every side effect downstream.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from .base import Record
from .enums import OrderSide, OrderStatus, OrderType, SessionMode


class _OrderFields(Record, abstract=True):
    """What every order message says: which session trades what, where, how and since when."""

    order_id: str
    session_id: str
    exchange: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    mode: SessionMode
    created_at: datetime


class RawOrder(_OrderFields):
    """A session's wish to trade, before money management gives it a quantity."""

    reason: str
    limit_price: Optional[Decimal] = None
    reduce_only: bool = False


class Order(_OrderFields):
    """A sized order ready for execution; ``client_order_id`` is derived from ``order_id``."""

    quantity: Decimal
    client_order_id: str
    limit_price: Optional[Decimal] = None
    reduce_only: bool = False


class ExecutionReport(Record):
    """The state of an order after an exchange (or the paper venue) acted on it."""

    execution_id: str
    order_id: str
    session_id: str
    status: OrderStatus
    filled_quantity: Decimal
    at: datetime
    average_price: Optional[Decimal] = None
    fee: Decimal = Decimal(0)
    fee_currency: Optional[str] = None
    reason: Optional[str] = None
