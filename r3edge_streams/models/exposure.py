"""Account exposure: what the orders and positions of every session of one account commit.

In: the MoneyManager's decisions. Out: ``AccountEvent`` on ``accountorders`` (key account)
and ``AccountExposure`` in the ``exposure`` table (key account), written by the account's
one writer.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from .base import Record
from .enums import AccountAction
from .orders import Order


class Reservation(Record):
    """Notional committed by an entry order; ``held`` once it filled and sits in a position.

    ``since`` is the event time the entry was decided, ``until`` the event time its position
    closed (then it commits nothing after ``until``, and is kept a while for entries decided
    earlier in event time that arrive late).
    """

    order_id: str
    session_id: str
    notional: Decimal
    held: bool = False
    since: Optional[datetime] = None
    until: Optional[datetime] = None


class Verdict(Record):
    """How an order was decided (kept so a redelivered order gets the same answer)."""

    order_id: str
    accepted: bool
    reason: str = ""


class AccountExposure(Record):
    """Every reservation of one account and its latest verdicts (bounded), for idempotence."""

    account: str
    reservations: list[Reservation] = []
    verdicts: list[Verdict] = []
    open_orders: list[str] = []  # ids of the orders sent on to the venue and not ended yet
    halted: Optional[str] = None  # why no new order may go (the account could not be reconciled)


class AccountEvent(Record):
    """An event for the account's one writer (``accountorders``, key account)."""

    event_id: str
    account: str
    action: AccountAction
    session_id: str
    order_id: str
    at: datetime
    order: Optional[Order] = None
    notional: Decimal = Decimal(0)
    reason: str = ""  # a halt's
