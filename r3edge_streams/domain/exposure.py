"""The account-wide exposure ledger (pure): one account's commitments, across all its sessions.

In: the account's ``AccountExposure`` (or None), its ``AccountLimits`` (maximum total notional,
maximum open orders), and the MoneyManager's events: an entry to reserve, an order that ended
(with the notional it filled), a position that closed. Out: the new ledger and, for a
reservation, the verdict. An entry reserves its notional while it is open; once it ends, what
it filled stays reserved as the position's (``held``) until the position closes, and what it
did not fill is released. Limits hold in event time: an entry decided at a candle counts every
position still open at that candle, even one that closed since (its worker lagging, the entry
arrives late), so the account's positions never overlap above its limit on the candles'
timeline, whatever the workers' pace. Exits reserve nothing and are refused only while the
account is halted. A reservation decided before (a redelivered order) gets the verdict it got
then, so nothing is reserved twice and an order refused once is never accepted later. The
ledger also keeps the ids of the account's orders that went on to the venue and have not ended:
what the account's reconciliation compares with the exchange's open orders.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from ..models.exposure import AccountExposure, Reservation, Verdict, kept_reason
from .values import value

#: verdicts kept per account to answer redeliveries (far more than orders in flight at once)
KEPT_VERDICTS = 1000
#: released holds kept per account, for entries decided before their release that arrive after it
KEPT_RELEASED = 200

_order_id = attrgetter("order_id")


@value
class AccountLimits:
    max_notional: Decimal | None = None
    max_open_orders: int | None = None


def committed(exposure: AccountExposure, at: datetime | None = None) -> Decimal:
    """Notional reserved by open entries and held by open positions; with ``at``, as of that event
    time: a position released after ``at`` still held then. (A hold released among the
    reservations is the ledger's earlier form, counted as released.)"""
    total = sum((r.notional for r in exposure.reservations if r.until is None), Decimal(0))
    if at is None:
        return total
    released = itertools.chain(exposure.released, exposure.reservations)
    return total + sum((r.notional for r in released if r.until is not None and r.until > at), Decimal(0))


def open_orders(exposure: AccountExposure) -> int:
    return sum(1 for r in exposure.reservations if not r.held)


def reserve(
    exposure: AccountExposure,
    order_id: str,
    session_id: str,
    notional: Decimal,
    limits: AccountLimits,
    at: datetime | None = None,
) -> tuple[AccountExposure, Verdict]:
    """Reserve ``notional`` for entry ``order_id``, decided at event time ``at``, if the account's
    limits allow it as of then: a position another session closed after ``at`` still counts, so
    an entry decided earlier but arriving later (its worker lagging) gets the verdict it would
    have got in event order, and the account's positions never overlap above the limit."""
    earlier = earlier_verdict(exposure, order_id)
    if earlier is not None:
        return exposure, earlier
    reason = _over_limits(exposure, notional, limits, at)
    verdict = Verdict(order_id=order_id, accepted=reason is None, reason=reason or "")
    reservations = exposure.reservations
    if reason is None:
        reservations = [*reservations, Reservation(order_id=order_id, session_id=session_id, notional=notional,
                                                   since=at)]  # fmt: skip
    return exposure.derive(reservations=reservations, verdicts=_kept(exposure.verdicts, verdict)), verdict


def _over_limits(
    exposure: AccountExposure, notional: Decimal, limits: AccountLimits, at: datetime | None
) -> str | None:
    if limits.max_notional is not None:
        total = committed(exposure, at)
        if total + notional > limits.max_notional:
            return (f"account {exposure.account}: exposure {total} + {notional} would exceed its limit "
                    f"{limits.max_notional}")  # fmt: skip
    if limits.max_open_orders is not None and open_orders(exposure) + 1 > limits.max_open_orders:
        return f"account {exposure.account}: {limits.max_open_orders} open orders already (its limit)"
    return None


def settle(exposure: AccountExposure, order_id: str, filled_notional: Decimal) -> AccountExposure:
    """Entry ``order_id`` ended: what it filled is held by the position, the rest released."""
    kept = list(exposure.reservations)
    for i in reversed(_places(list(map(_order_id, kept)), order_id)):
        reservation = kept[i]
        if reservation.held:
            continue
        if filled_notional > 0:
            kept[i] = reservation.derive(notional=filled_notional, held=True)
        else:
            del kept[i]
    return _with(exposure, kept)


def release_position(exposure: AccountExposure, session_id: str, at: datetime | None = None) -> AccountExposure:
    """The position of ``session_id`` closed at event time ``at``: what its entries held is
    released from then on (without ``at``: at once, for every event time). The oldest released
    holds beyond ``KEPT_RELEASED`` are forgotten. (Holds released among the reservations, the
    ledger's earlier form, move to the released ones here.)"""
    reservations = exposure.reservations
    ending = [r for r in reservations if r.until is None and r.held and r.session_id == session_id]
    earlier = [r for r in reservations if r.until is not None]
    if not ending and not earlier:
        return exposure
    kept = [r for r in reservations if r.until is None and not (r.held and r.session_id == session_id)]
    if at is None:
        released = [*exposure.released, *earlier]
    else:
        released = [*exposure.released, *earlier, *(r.derive(until=at) for r in ending)]
    return exposure.derive(reservations=kept, released=released[-KEPT_RELEASED:])


def _places(values: list[Any], value: Any) -> list[int]:
    """The indices of ``value`` in ``values`` (found at C speed: the ledger's lists are long)."""
    found: list[int] = []
    start = 0
    with contextlib.suppress(ValueError):
        while True:
            start = values.index(value, start) + 1
            found.append(start - 1)
    return found


def _with(exposure: AccountExposure, reservations: list[Reservation]) -> AccountExposure:
    return exposure.derive(reservations=reservations)


def opened(exposure: AccountExposure, order_id: str) -> AccountExposure:
    """Order ``order_id`` went on to the venue: open until it ends."""
    if order_id in exposure.open_orders:
        return exposure
    return exposure.derive(open_orders=[*exposure.open_orders, order_id])


def ended(exposure: AccountExposure, order_id: str) -> AccountExposure:
    """Order ``order_id`` ended (filled, cancelled, rejected, expired)."""
    if order_id not in exposure.open_orders:
        return exposure
    return exposure.derive(open_orders=[o for o in exposure.open_orders if o != order_id])


def halted_verdict(exposure: AccountExposure, order_id: str) -> tuple[AccountExposure, Verdict]:
    """An order refused because the account is halted (kept: a redelivery gets the same answer)."""
    verdict = Verdict(
        order_id=order_id, accepted=False, reason=f"account {exposure.account} is halted: {exposure.halted}"
    )
    return exposure.derive(verdicts=_kept(exposure.verdicts, verdict)), verdict


def earlier_verdict(exposure: AccountExposure, order_id: str) -> Verdict | None:
    """The verdict kept for ``order_id``, if any (the first: there is never a second)."""
    reason = exposure.verdicts.get(order_id)
    return None if reason is None else Verdict(order_id=order_id, accepted=not reason, reason=reason)


def _kept(verdicts: dict[str, str], verdict: Verdict) -> dict[str, str]:
    """The verdicts with ``verdict`` last (as its refusal reason, "" when accepted), the oldest
    beyond ``KEPT_VERDICTS`` forgotten."""
    kept = {**verdicts, verdict.order_id: kept_reason(verdict)}
    for oldest in list(itertools.islice(kept, max(len(kept) - KEPT_VERDICTS, 0))):
        del kept[oldest]
    return kept
