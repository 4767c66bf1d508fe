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
    """Every reservation of one account and its latest verdicts (bounded), for idempotence.

    ``reservations``: the open entries and the holds of open positions (a few); ``released``:
    the holds of positions closed since, oldest first (bounded), which still count for entries
    decided before their release. ``verdicts``: order id -> why the order was refused (""
    when it was accepted), oldest first; a map of strings, so finding an order's verdict and
    copying the ledger on each event stay cheap however many are kept. Kept apart this way,
    what an order's events touch stays small whatever the account's history. A ledger written
    in the form before this one is read as it was meant: its verdicts (a list of records) into
    the map, and the released holds among its reservations (``until`` set) count as released
    and move to ``released`` at the account's next release."""

    account: str
    reservations: list[Reservation] = []
    released: list[Reservation] = []
    verdicts: dict[str, str] = {}
    open_orders: list[str] = []  # ids of the orders sent on to the venue and not ended yet
    halted: Optional[str] = None  # why no new order may go (the account could not be reconciled)

    def __post_init__(self) -> None:
        kept = self.__dict__.get("verdicts")
        if isinstance(kept, list):  # the earlier form: a list of verdicts (records, or as decoded)
            self.__dict__["verdicts"] = dict(map(_verdict_entry, kept))
        super().__post_init__()


def _verdict_entry(verdict: Verdict | dict[str, object]) -> tuple[str, str]:
    """A verdict of the earlier list form as an entry of the map: (order id, refusal reason)."""
    if isinstance(verdict, dict):
        verdict = Verdict(order_id=verdict["order_id"], accepted=verdict["accepted"],
                          reason=verdict.get("reason") or "")  # fmt: skip
    return verdict.order_id, kept_reason(verdict)


def kept_reason(verdict: Verdict) -> str:
    """A verdict as the ledger's map keeps it: why the order was refused, "" when it was accepted."""
    return "" if verdict.accepted else verdict.reason or "refused"


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
