"""The account-wide exposure ledger (pure): one account's commitments, across all its sessions.

In: the account's ``AccountExposure`` (or None), its ``AccountLimits`` (maximum total notional,
maximum open orders), and the MoneyManager's events: an entry to reserve, an order that ended
(with the notional it filled), a position that closed. Out: the new ledger and, for a
reservation, the verdict. An entry reserves its notional while it is open; once it ends, what
it filled stays reserved as the position's (``held``) until the position closes, and what it
did not fill is released. Exits reserve nothing and are never refused. A reservation decided
before (a redelivered order) gets the verdict it got then, so nothing is reserved twice and an
order refused once is never accepted later.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..models.exposure import AccountExposure, Reservation, Verdict

#: verdicts kept per account to answer redeliveries (far more than orders in flight at once)
KEPT_VERDICTS = 1000


@dataclass(frozen=True)
class AccountLimits:
    max_notional: Decimal | None = None
    max_open_orders: int | None = None


def committed(exposure: AccountExposure) -> Decimal:
    """Notional reserved by open entries and held by open positions."""
    return sum((r.notional for r in exposure.reservations), Decimal(0))


def open_orders(exposure: AccountExposure) -> int:
    return sum(1 for r in exposure.reservations if not r.held)


def reserve(
    exposure: AccountExposure, order_id: str, session_id: str, notional: Decimal, limits: AccountLimits
) -> tuple[AccountExposure, Verdict]:
    """Reserve ``notional`` for entry ``order_id`` if the account's limits allow it."""
    earlier = next((v for v in exposure.verdicts if v.order_id == order_id), None)
    if earlier is not None:
        return exposure, earlier
    reason = _over_limits(exposure, notional, limits)
    verdict = Verdict(order_id=order_id, accepted=reason is None, reason=reason or "")
    reservations = exposure.reservations
    if reason is None:
        reservations = [*reservations, Reservation(order_id=order_id, session_id=session_id, notional=notional)]
    verdicts = [*exposure.verdicts, verdict][-KEPT_VERDICTS:]
    return AccountExposure(account=exposure.account, reservations=reservations, verdicts=verdicts), verdict


def _over_limits(exposure: AccountExposure, notional: Decimal, limits: AccountLimits) -> str | None:
    total = committed(exposure)
    if limits.max_notional is not None and total + notional > limits.max_notional:
        return f"account {exposure.account}: exposure {total} + {notional} would exceed its limit {limits.max_notional}"
    if limits.max_open_orders is not None and open_orders(exposure) + 1 > limits.max_open_orders:
        return f"account {exposure.account}: {limits.max_open_orders} open orders already (its limit)"
    return None


def settle(exposure: AccountExposure, order_id: str, filled_notional: Decimal) -> AccountExposure:
    """Entry ``order_id`` ended: what it filled is held by the position, the rest released."""
    kept: list[Reservation] = []
    for reservation in exposure.reservations:
        if reservation.order_id != order_id or reservation.held:
            kept.append(reservation)
        elif filled_notional > 0:
            kept.append(Reservation(order_id=order_id, session_id=reservation.session_id,
                                    notional=filled_notional, held=True))  # fmt: skip
    return _with(exposure, kept)


def release_position(exposure: AccountExposure, session_id: str) -> AccountExposure:
    """The position of ``session_id`` closed: what its entries held is released."""
    return _with(exposure, [r for r in exposure.reservations if not (r.held and r.session_id == session_id)])


def _with(exposure: AccountExposure, reservations: list[Reservation]) -> AccountExposure:
    return AccountExposure(account=exposure.account, reservations=reservations, verdicts=exposure.verdicts)
