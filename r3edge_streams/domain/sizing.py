"""Sizing (pure): the quantity of an order, from the session's risk and the market's rules.

In: the session's ``RiskParams``, its equity and free cash (quote currency) when the order was
decided, the reference price (the close of the decision candle), the stop price (for risk
sizing), the venue's fee rate and the market's ``MarketRules``. Out: a ``Sized`` order
(quantity on the lot step, the notional it commits) or a ``Refused`` one with the reason.

The formulas (equity E, price P, stop S, fee rate f):

- ``fraction``: notional N = E x position_fraction;
- ``risk``: quantity Q = E x risk_per_trade / |P - S|, N = Q x P;
- N is capped at E x max_position_fraction, and a buy at free cash / (1 + f), so that the
  fill and its fee fit in the cash the session has;
- Q = N / P rounded *down* to the lot step (and to the market's maximum); an order below the
  minimum quantity or the minimum notional is refused, never rounded up;
- a limit price is put on the price tick towards the safe side (a buy down, a sell up).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ..models import RiskParams
from ..models.enums import OrderSide, SizingMethod
from .values import value
from .venue import MarketRules

_ZERO = Decimal(0)


@value
class Sized:
    quantity: Decimal
    notional: Decimal  # quantity x reference price


@value
class Refused:
    reason: str


def on_step(value: Decimal, step: Decimal, rounding: str = ROUND_FLOOR) -> Decimal:
    """``value`` as a whole number of ``step``s (down by default), written with the step's exponent."""
    if step <= _ZERO:
        return value
    return ((value / step).to_integral_value(rounding=rounding) * step).quantize(step)


def limit_price(price: Decimal, side: OrderSide, rules: MarketRules) -> Decimal:
    """A limit price on the tick: a buy never pays more than asked, a sell never takes less."""
    return on_step(price, rules.price_tick, ROUND_FLOOR if side is OrderSide.BUY else ROUND_CEILING)


def entry_notional(risk: RiskParams, equity: Decimal, price: Decimal, stop: Decimal | None) -> Decimal | Refused:
    """The notional an entry wants before the caps: by equity fraction, or by risk over the stop distance."""
    if risk.sizing is SizingMethod.FRACTION:
        return equity * risk.position_fraction
    if stop is None:
        return Refused("risk sizing needs a stop-loss (risk.stop_loss_pct)")
    distance = abs(price - stop)
    if distance == _ZERO:
        return Refused("the stop is at the entry price: no distance to size the risk over")
    return equity * risk.risk_per_trade / distance * price


def size_entry(
    risk: RiskParams,
    side: OrderSide,
    equity: Decimal,
    cash: Decimal,
    price: Decimal,
    stop: Decimal | None,
    fee_rate: Decimal,
    rules: MarketRules,
) -> Sized | Refused:
    """The quantity of an entry (see the module's formulas), or why there is none."""
    if equity <= _ZERO:
        return Refused(f"no equity to size from ({equity})")
    if price <= _ZERO:
        return Refused(f"no usable reference price ({price})")
    wanted = entry_notional(risk, equity, price, stop)
    if isinstance(wanted, Refused):
        return wanted
    caps = [wanted, equity * risk.max_position_fraction]
    if side is OrderSide.BUY:
        caps.append(cash / (1 + fee_rate))
    return within_rules(min(caps) / price, price, rules)


def size_exit(held: Decimal, price: Decimal, rules: MarketRules) -> Sized | Refused:
    """An exit sells (or buys back) the whole holding, on the lot step: what the step leaves is dust."""
    quantity = on_step(abs(held), rules.lot_step)
    if quantity <= _ZERO:
        return Refused(f"the holding {held} is below one lot step ({rules.lot_step})")
    return Sized(quantity, quantity * price)


def within_rules(quantity: Decimal, price: Decimal, rules: MarketRules) -> Sized | Refused:
    """``quantity`` rounded down onto the market's lot step and bounds, or why it cannot trade."""
    if rules.max_quantity is not None:
        quantity = min(quantity, rules.max_quantity)
    rounded = on_step(quantity, rules.lot_step)
    if rounded <= _ZERO or rounded < rules.min_quantity:
        return Refused(f"quantity {quantity:.8g} is below the market's minimum {rules.min_quantity}")
    notional = rounded * price
    if notional < rules.min_notional:
        return Refused(f"notional {notional:.8g} is below the market's minimum {rules.min_notional}")
    return Sized(rounded, notional)
