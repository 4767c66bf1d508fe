"""A session's money (pure): its holding, cash, fees and PnL, moved by fills.

In: the session's ``Holding`` and a ``Fill`` (side, quantity, price, fee in the quote
currency). Out: the new holding and, when the fill reduced the position, the ``ClosedPart``
it realised. The arithmetic, for a fill of quantity q at price p with fee f:

- cash moves by the fill's value and its fee: a buy pays q x p + f, a sell receives q x p - f;
- a fill on the side of the position (or from flat) adds to it at the average entry price
  (|Q| x A + q x p) / (|Q| + q); its fee is the open position's;
- a fill against the position closes min(q, |Q|) of it: gross PnL = closed x (p - A) for a long,
  closed x (A - p) for a short, and the closed part's net PnL also pays its share of the
  entry fees and of this fill's fee; what a fill has beyond the position opens the other side;
- equity = cash + Q x mark; unrealised PnL = Q x (mark - A).

So, whenever the position is flat, equity = capital + the sum of the closed parts' net PnL.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..models.enums import OrderSide
from .values import replace, value

_ZERO = Decimal(0)


@value
class Fill:
    side: OrderSide
    quantity: Decimal
    price: Decimal
    fee: Decimal
    at: datetime


def quote_fill(
    side: OrderSide,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    fee_currency: str | None,
    symbol: str,
    at: datetime,
) -> Fill:
    """A venue's fill with its fee in the quote currency, as this ledger keeps money.

    A fee charged in the base asset (Binance takes a buy's commission from what it bought)
    leaves ``quantity - fee`` held: the fill is that net quantity, and the fee its value at
    the fill's price, so cash moves by ``quantity x price`` exactly as on the exchange. A fee
    in a third asset (a discount token) is not money of this market: it is left out here.
    """
    base, _, rest = symbol.partition("/")
    quote = rest.split(":")[0]
    if not fee_currency or fee_currency == quote:
        return Fill(side, quantity, price, fee, at)
    if fee_currency == base and side is OrderSide.BUY:
        return Fill(side, quantity - fee, price, fee * price, at)
    if fee_currency == base:  # a sell paid in base: the venue sold the quantity and took the fee on top
        return Fill(side, quantity, price, fee * price, at)
    return Fill(side, quantity, price, _ZERO, at)


@value
class ClosedPart:
    """What one fill closed of a position: its size, prices, the fees it carried and its net PnL."""

    long: bool
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    fees: Decimal
    pnl: Decimal
    at: datetime


@value
class Holding:
    """A session's position in its market and its cash, in the quote currency."""

    capital: Decimal
    cash: Decimal
    quantity: Decimal = _ZERO  # signed: negative is short
    average_price: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO  # gross of fees
    fees: Decimal = _ZERO  # every fee paid
    open_fees: Decimal = _ZERO  # the fees of the open position's entries, not yet charged to a trade

    @classmethod
    def of(cls, capital: Decimal) -> Holding:
        return cls(capital=capital, cash=capital)

    @property
    def flat(self) -> bool:
        return self.quantity == _ZERO

    def equity(self, mark: Decimal | None) -> Decimal:
        return self.cash + self.quantity * (mark if mark is not None else self.average_price)

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal:
        return self.quantity * ((mark if mark is not None else self.average_price) - self.average_price)


def apply_fill(holding: Holding, fill: Fill) -> tuple[Holding, ClosedPart | None]:
    """The holding after ``fill``, and the part of the position it closed (None if it closed nothing)."""
    signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
    paid = replace(holding, cash=holding.cash - signed * fill.price - fill.fee, fees=holding.fees + fill.fee)
    if holding.quantity == _ZERO or (holding.quantity > _ZERO) == (signed > _ZERO):
        return _added(paid, signed, fill.price, fill.fee), None
    closing = min(fill.quantity, abs(holding.quantity))
    closed, part = _closed(paid, closing, fill, fill.fee * closing / fill.quantity)
    rest = fill.quantity - closing
    if rest > _ZERO:
        closed = _added(
            closed, rest if signed > _ZERO else -rest, fill.price, fill.fee - fill.fee * closing / fill.quantity
        )
    return closed, part


def _added(holding: Holding, signed: Decimal, price: Decimal, fee: Decimal) -> Holding:
    size = abs(holding.quantity) + abs(signed)
    average = (abs(holding.quantity) * holding.average_price + abs(signed) * price) / size
    return replace(holding, quantity=holding.quantity + signed, average_price=average,
                   open_fees=holding.open_fees + fee)  # fmt: skip


def _closed(holding: Holding, closing: Decimal, fill: Fill, exit_fee: Decimal) -> tuple[Holding, ClosedPart]:
    long = holding.quantity > _ZERO
    gross = closing * (fill.price - holding.average_price) * (1 if long else -1)
    entry_fee = holding.open_fees * closing / abs(holding.quantity)
    remaining = holding.quantity - closing if long else holding.quantity + closing
    after = replace(
        holding,
        quantity=remaining,
        average_price=holding.average_price if remaining != _ZERO else _ZERO,
        realized_pnl=holding.realized_pnl + gross,
        open_fees=holding.open_fees - entry_fee if remaining != _ZERO else _ZERO,
    )
    fees = entry_fee + exit_fee
    part = ClosedPart(long, closing, holding.average_price, fill.price, fees, gross - fees, fill.at)
    return after, part
