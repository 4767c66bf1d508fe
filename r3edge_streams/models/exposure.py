"""Account exposure: what the orders and positions of every session of one account commit.

In: the MoneyManager's decisions. Out: ``AccountExposure`` in the ``exposure`` table (key
account), written by the account's one writer.
"""

from __future__ import annotations

from decimal import Decimal

from .base import Record


class Reservation(Record):
    """Notional committed by an entry order; ``held`` once it filled and sits in a position."""

    order_id: str
    session_id: str
    notional: Decimal
    held: bool = False


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
