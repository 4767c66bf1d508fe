"""An account's reconciliation with its exchange (pure): what the exchange has that the ledger does not.

In: the open orders the exchange lists for the account, the account's ledger
(``AccountExposure``: the ids of its orders at the venue, whether it is halted) and, when the
exchange could not be read, why. Out: the exchange's open orders under our client-id prefix
that no order of the ledger accounts for (reported, never adopted or cancelled), and the
account event that halts the account (it could not be read) or resumes it (read again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..models import AccountAction, AccountEvent, AccountExposure
from .client_ids import is_ours, venue_client_id
from .money import client_order_id
from .venue import VenueOrder


def unknown_orders(exchange_id: str, listed: Sequence[VenueOrder], ledger: AccountExposure | None) -> list[VenueOrder]:
    """Open orders with the form of our ids (on that exchange) that are none of the ledger's open orders."""
    open_ids = ledger.open_orders if ledger is not None else []
    known = {venue_client_id(exchange_id, client_order_id(order_id)) for order_id in open_ids}
    return [o for o in listed if is_ours(exchange_id, o.client_order_id) and o.client_order_id not in known]


def halt_change(account: str, ledger: AccountExposure | None, error: str | None, at: datetime) -> AccountEvent | None:
    """HALT when the exchange could not be read (and the account is not halted for it already),
    RESUME when it was read and the account is halted; else nothing."""
    halted = ledger.halted if ledger is not None else None
    if error is not None:
        reason = f"cannot be reconciled with its exchange: {error}"
        if halted == reason:
            return None
        return AccountEvent(event_id=f"halt:{account}:{at.isoformat()}", account=account, action=AccountAction.HALT,
                            session_id="", order_id="", at=at, reason=reason)  # fmt: skip
    if halted is None:
        return None
    return AccountEvent(event_id=f"resume:{account}:{at.isoformat()}", account=account, action=AccountAction.RESUME,
                        session_id="", order_id="", at=at)  # fmt: skip
