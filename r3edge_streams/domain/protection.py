"""Protective exits (pure): stop-loss, take-profit and trailing stop, checked on closed candles.

In: a position's direction, its entry price and the session's ``RiskParams`` (to set the
levels), then each closed ``Candle`` of its market in order. Out: the levels, the ``Trigger``
a candle fires (which exit, at which price) or None, and the levels carried to the next
candle (the trailing stop follows the best price).

The rules, for a long position (a short one is the mirror image):

- the effective stop is the higher of the stop-loss and the trailing stop; the trailing stop
  is ``trailing_stop_pct`` below the best high seen since entry, *before* the candle being
  checked (a candle's own high may have come after its low: counting it would be optimistic);
- a candle that opens at or beyond a level gapped through it and fills at its open: at or
  below the stop, a stop at the open (worse than the level); at or above the take-profit, a
  take-profit at the open (better than the level);
- otherwise a candle whose low reaches the stop fills the stop at its level, and one whose
  high reaches the take-profit fills it at its level; a candle that reaches both is a stop
  (the pessimistic choice: from a candle alone, which came first is unknown);
- a tie between stop-loss and trailing stop is a stop-loss.
"""

from __future__ import annotations

from decimal import Decimal

from ..models import Candle, RiskParams
from ..models.enums import OrderPurpose
from .values import replace, value

_HUNDRED = Decimal(100)


@value
class Levels:
    """A position's protective levels; ``best`` is its best price since entry (for the trailing stop)."""

    long: bool
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    trailing_pct: Decimal | None = None
    best: Decimal | None = None

    @property
    def trailing_stop(self) -> Decimal | None:
        """The trailing stop's level now, from the best price so far."""
        if self.trailing_pct is None or self.best is None:
            return None
        offset = self.best * self.trailing_pct / _HUNDRED
        return self.best - offset if self.long else self.best + offset

    def stop(self) -> tuple[Decimal, OrderPurpose] | None:
        """The effective stop (the tighter of stop-loss and trailing stop) and which one it is."""
        candidates = [(level, purpose) for level, purpose in (
            (self.stop_loss, OrderPurpose.STOP_LOSS), (self.trailing_stop, OrderPurpose.TRAILING_STOP),
        ) if level is not None]  # fmt: skip
        if not candidates:
            return None
        pick = max if self.long else min
        tightest = pick(level for level, _ in candidates)
        return next((level, purpose) for level, purpose in candidates if level == tightest)


@value
class Trigger:
    """An exit a candle fired: which level, and the price it fills at by the rules above."""

    purpose: OrderPurpose
    level: Decimal
    price: Decimal
    gapped: bool


def levels_at_entry(long: bool, entry_price: Decimal, risk: RiskParams) -> Levels:
    """The levels of a position entered at ``entry_price`` under ``risk`` (percent distances)."""

    def away(pct: Decimal | None, towards_loss: bool) -> Decimal | None:
        if pct is None:
            return None
        down = towards_loss == long
        return entry_price * (_HUNDRED - pct if down else _HUNDRED + pct) / _HUNDRED

    return Levels(
        long=long,
        stop_loss=away(risk.stop_loss_pct, towards_loss=True),
        take_profit=away(risk.take_profit_pct, towards_loss=False),
        trailing_pct=risk.trailing_stop_pct,
        best=entry_price if risk.trailing_stop_pct is not None else None,
    )


def triggered(levels: Levels, candle: Candle) -> Trigger | None:
    """The exit ``candle`` fires for a position with ``levels``, or None."""
    stop = levels.stop()
    take = levels.take_profit
    beyond = _beyond_long if levels.long else _beyond_short
    if stop is not None and beyond(stop[0], candle.open, adverse=True):
        return Trigger(stop[1], stop[0], candle.open, gapped=True)
    if take is not None and beyond(take, candle.open, adverse=False):
        return Trigger(OrderPurpose.TAKE_PROFIT, take, candle.open, gapped=True)
    adverse_extreme, favourable_extreme = (candle.low, candle.high) if levels.long else (candle.high, candle.low)
    if stop is not None and beyond(stop[0], adverse_extreme, adverse=True):
        return Trigger(stop[1], stop[0], stop[0], gapped=False)
    if take is not None and beyond(take, favourable_extreme, adverse=False):
        return Trigger(OrderPurpose.TAKE_PROFIT, take, take, gapped=False)
    return None


def _beyond_long(level: Decimal, price: Decimal, adverse: bool) -> bool:
    return price <= level if adverse else price >= level


def _beyond_short(level: Decimal, price: Decimal, adverse: bool) -> bool:
    return price >= level if adverse else price <= level


def advanced(levels: Levels, candle: Candle) -> Levels:
    """The levels after ``candle`` passed without firing: the best price takes its extreme."""
    if levels.best is None:
        return levels
    best = max(levels.best, candle.high) if levels.long else min(levels.best, candle.low)
    return replace(levels, best=best)
