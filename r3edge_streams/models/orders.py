"""Order messages: intents without size, sized orders, and what the venue answered.

In: position tracking (raw orders), money management (orders), order execution (reports).
Out: ``RawOrder`` on ``raworders``, ``Order`` on ``orders``, ``ExecutionReport`` on
``executions``. ``order_id`` is the idempotency key of every side effect downstream; each
message carries what its consumer needs (keyed by orderId, it cannot join the session's tables).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from .base import Record
from .enums import OrderPurpose, OrderSide, OrderStatus, OrderType, SessionMode
from .sessions import FillModel, RiskParams


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
    """A session's decision to trade, before money management gives an entry its quantity.

    The cause: ``purpose``, the decision candle (``timeframe``, ``candle_time``) and the signal.
    For sizing: the session's ``risk``, ``equity`` and ``cash`` when it decided, the
    ``reference_price`` (the decision candle's close) and ``stop_price`` (where the stop-loss
    would sit at that price). An exit carries its ``quantity`` (the whole holding); a
    protective exit its ``trigger_price`` (the level, or the open of a candle gapping through).
    """

    reason: str
    limit_price: Optional[Decimal] = None
    reduce_only: bool = False
    purpose: OrderPurpose = OrderPurpose.ENTRY
    timeframe: str = "1m"
    candle_time: Optional[datetime] = None
    signal_id: Optional[str] = None
    account: Optional[str] = None
    reference_price: Decimal = Decimal(0)
    stop_price: Optional[Decimal] = None
    equity: Decimal = Decimal(0)
    cash: Decimal = Decimal(0)
    quantity: Optional[Decimal] = None
    trigger_price: Optional[Decimal] = None
    risk: RiskParams = RiskParams()
    fills: FillModel = FillModel()


class Order(_OrderFields):
    """A sized order ready for execution; ``client_order_id`` is derived from ``order_id``."""

    quantity: Decimal
    client_order_id: str
    limit_price: Optional[Decimal] = None
    reduce_only: bool = False
    purpose: OrderPurpose = OrderPurpose.ENTRY
    timeframe: str = "1m"
    candle_time: Optional[datetime] = None
    signal_id: Optional[str] = None
    account: Optional[str] = None
    reference_price: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    trigger_price: Optional[Decimal] = None
    fills: FillModel = FillModel()
    cash: Decimal = Decimal(0)  # the session's free quote when it decided (a paper buy may not spend more)
    holding: Decimal = Decimal(0)  # its base held then (a paper sell may not sell more)
    reason: str = ""  # the decision's, in words (for the order's lineage)


class ExecutionReport(Record):
    """The state of an order after the venue acted on it; ``sequence`` numbers an order's reports.

    ``filled_quantity``, ``average_price`` and ``fee`` are the order's totals so far; ``last_*``
    the fill this report announces (none for accepted, cancelled, rejected, expired).
    """

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
    sequence: int = 0
    side: Optional[OrderSide] = None
    purpose: Optional[OrderPurpose] = None
    last_quantity: Decimal = Decimal(0)
    last_price: Optional[Decimal] = None
    last_fee: Decimal = Decimal(0)
    candle_time: Optional[datetime] = None  # open time of the candle that filled it (paper)


class OrderFill(Record):
    """One fill of an order on its venue; ``trade_id`` is the venue's and makes it once."""

    trade_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    at: datetime
    fee_currency: Optional[str] = None
    candle_time: Optional[datetime] = None


class VenueEvent(Record):
    """What the executor learnt of an order from its venue: placed, a fill, or its end."""

    event_id: str
    order_id: str
    status: OrderStatus
    at: datetime
    fills: list[OrderFill] = []  # every fill the venue has for it so far
    reason: Optional[str] = None
    venue_order_id: Optional[str] = None


class OrderState(Record):
    """The ``orders`` table value: an order, how far its venue took it, and the reports sent of it."""

    order: Order
    status: OrderStatus
    updated_at: datetime
    fills: list[OrderFill] = []
    placed: bool = False
    reports: int = 0
    reason: Optional[str] = None
    venue_order_id: Optional[str] = None
    executions: list[ExecutionReport] = []  # every report sent of it, in order (its lineage)
