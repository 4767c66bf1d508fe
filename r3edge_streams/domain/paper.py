"""The paper venue's fill model and account ledger (pure).

In: an order's side and quantity, the candle that fills it (the market's first candle *after*
the one the order was decided on), the session's ``FillModel`` (fee and slippage in basis
points), and the paper account's balances. Out: the ``PaperFill`` (price, quantity, fee) and
the balances after it, or ``Overdrawn`` with the reason. The rules:

- a market order fills whole at the open of the next candle, a buy ``slippage_bps`` above it,
  a sell below it;
- a protective exit (stop-loss, take-profit, trailing stop) fills at the price its trigger
  gave (its level, or the open of the candle that gapped through it), slipped the same way;
- a limit order fills on the first later candle that trades through its price: a buy when the
  low reaches it, at the limit or at the open if that is better; a sell mirrored;
- the fee is ``fee_bps`` of the fill's notional, in the quote currency;
- spot balances: a buy needs its notional plus fee in quote, a sell its quantity in base;
  a fill that would overdraw either is refused, nothing moves.
"""

from __future__ import annotations

from decimal import Decimal

from ..models import Candle
from ..models.enums import OrderSide
from ..models.sessions import FillModel
from .values import value

_BPS = Decimal(10_000)


@value
class PaperFill:
    quantity: Decimal
    price: Decimal
    fee: Decimal

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


@value
class Overdrawn:
    reason: str


def slipped(price: Decimal, side: OrderSide, model: FillModel) -> Decimal:
    """``price`` moved against the order by the model's slippage."""
    factor = model.slippage_bps / _BPS
    return price * (1 + factor) if side is OrderSide.BUY else price * (1 - factor)


def filled_at(side: OrderSide, quantity: Decimal, price: Decimal, model: FillModel) -> PaperFill:
    """A whole fill at ``price`` (before slippage), with the model's fee on its notional."""
    executed = slipped(price, side, model)
    return PaperFill(quantity, executed, quantity * executed * model.fee_bps / _BPS)


def market_fill(side: OrderSide, quantity: Decimal, next_candle: Candle, model: FillModel) -> PaperFill:
    """A market order, filled at the open of the candle after its decision."""
    return filled_at(side, quantity, next_candle.open, model)


def limit_fill(
    side: OrderSide, quantity: Decimal, limit: Decimal, candle: Candle, model: FillModel
) -> PaperFill | None:
    """A limit order on a later ``candle``: filled if the candle traded through its price, else None."""
    if side is OrderSide.BUY and candle.low <= limit:
        return filled_at(side, quantity, min(limit, candle.open), model)
    if side is OrderSide.SELL and candle.high >= limit:
        return filled_at(side, quantity, max(limit, candle.open), model)
    return None


def settled(
    balances: dict[str, Decimal], base: str, quote: str, side: OrderSide, fill: PaperFill
) -> dict[str, Decimal] | Overdrawn:
    """The spot balances after ``fill``, or why it would overdraw them."""
    have_base, have_quote = balances.get(base, Decimal(0)), balances.get(quote, Decimal(0))
    if side is OrderSide.BUY:
        cost = fill.notional + fill.fee
        if cost > have_quote:
            return Overdrawn(f"insufficient {quote}: the fill needs {cost}, the account has {have_quote}")
        return {**balances, base: have_base + fill.quantity, quote: have_quote - cost}
    if fill.quantity > have_base:
        return Overdrawn(f"insufficient {base}: the fill sells {fill.quantity}, the account has {have_base}")
    return {**balances, base: have_base - fill.quantity, quote: have_quote + fill.notional - fill.fee}
