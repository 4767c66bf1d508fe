"""Signal semantics (pure): what a session's position does with the direction its strategy wants.

In: the session's signed holding, the direction last signalled (``wanted``), whether one of its
orders is still in flight, whether it is suspended, how many positions it holds or is entering,
its ``RiskParams`` and whether its market can short. Out: the ``Intent`` of one order (an entry
or an exit, its side), ``Blocked`` with the reason an entry was wanted but may not be made, or
None (nothing to do). The rules, for spot:

- LONG while flat opens a long; SHORT or FLAT while long closes it; a repeated signal does nothing;
- SHORT while flat opens a short only if the session allows shorts and its market can short
  (else a long-only session simply stays flat); LONG or FLAT while short closes it;
- while an order is in flight nothing new is decided: the tracker decides again from the same
  wanted direction when that order ends, which is how a reversal (long, then SHORT, shorts
  allowed) becomes an exit followed by a short entry once the exit has filled;
- no entries while suspended or at ``max_open_positions``; exits always.
"""

from __future__ import annotations

from decimal import Decimal

from ..models import RiskParams
from ..models.enums import Direction, OrderPurpose, OrderSide
from .values import value

_ZERO = Decimal(0)


@value
class Intent:
    purpose: OrderPurpose
    side: OrderSide


@value
class Blocked:
    reason: str


@value
class Situation:
    """What the decision depends on besides the wanted direction."""

    quantity: Decimal
    in_flight: bool = False
    suspended: bool = False
    open_positions: int = 0
    can_short: bool = False


def decide(wanted: Direction | None, now: Situation, risk: RiskParams) -> Intent | Blocked | None:
    """The order the wanted direction calls for in situation ``now`` (see the module's rules)."""
    if wanted is None or now.in_flight:
        return None
    if now.quantity > _ZERO:
        return Intent(OrderPurpose.EXIT, OrderSide.SELL) if wanted is not Direction.LONG else None
    if now.quantity < _ZERO:
        return Intent(OrderPurpose.EXIT, OrderSide.BUY) if wanted is not Direction.SHORT else None
    if wanted is Direction.FLAT or (wanted is Direction.SHORT and not risk.allow_short):
        return None
    return _entry(OrderSide.BUY if wanted is Direction.LONG else OrderSide.SELL, now, risk)


def _entry(side: OrderSide, now: Situation, risk: RiskParams) -> Intent | Blocked:
    if now.suspended:
        return Blocked("the session is suspended: no new entries")
    if now.open_positions >= risk.max_open_positions:
        return Blocked(f"max_open_positions ({risk.max_open_positions}) reached")
    if side is OrderSide.SELL and not now.can_short:
        return Blocked("this market cannot be shorted")
    return Intent(OrderPurpose.ENTRY, side)
