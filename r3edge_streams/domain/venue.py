"""What a trading venue states, as plain values: a market's trading rules, an order as the venue
holds it, its fills, and an account's balances.

In: nothing (pure data; the venues of :mod:`r3edge_streams.exchanges` build these from their own
answers). Out: frozen dataclasses with Decimal amounts and UTC times, read by the pure sizing
and execution rules. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from decimal import Decimal

from ..models.enums import OrderSide, OrderStatus, OrderType
from .values import value


@value
class MarketRules:
    """How a venue lets one market trade: quantity step and bounds, price tick, minimum notional."""

    symbol: str
    base: str
    quote: str
    lot_step: Decimal
    min_quantity: Decimal
    price_tick: Decimal
    min_notional: Decimal
    max_quantity: Decimal | None = None
    can_short: bool = False


@value
class VenueFill:
    """One trade of an order on the venue; ``trade_id`` is the venue's, unique per market."""

    trade_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    at: datetime


@value
class VenueOrder:
    """An order as the venue holds it, found again by ``client_order_id`` (derived from our order id)."""

    client_order_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    status: OrderStatus
    created_at: datetime
    limit_price: Decimal | None = None
    venue_order_id: str | None = None
    fills: tuple[VenueFill, ...] = field(default_factory=tuple)
    reason: str | None = None

    @property
    def filled_quantity(self) -> Decimal:
        return sum((f.quantity for f in self.fills), Decimal(0))


@value
class Balance:
    """One asset of an account: what is free to use and what open orders hold."""

    asset: str
    free: Decimal
    locked: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.free + self.locked
