"""Live accounts reconciled with their exchanges, by the worker that owns each account's ledger.

In: the live accounts configured on this worker, the ``exposure`` partitions it owns (each
account's ledger, keyed by account name) and each account's venue (:mod:`.execution`). Out:
per account the last check (how many orders the exchange lists open, the unknown ones, why it
could not be read, when), one ``order.unknown`` notification per unknown order on this worker,
and the HALT / RESUME events on ``accountorders`` that stop and resume the account's new orders.
A round runs as soon as the worker gains partitions and then every ``interval`` seconds. The
orders themselves are brought up to date by the executor, which visits every open order of
the ``orders`` partitions this worker owns on each of its rounds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from .application import settings
from .catalogue import ACCOUNTORDERS, NOTIFICATIONS
from .collection import owned_partitions
from .config import TradingMode
from .domain.notices import account_halted, order_unknown
from .domain.reconcile import halt_change, unknown_orders
from .domain.venue import VenueOrder
from .exchanges.errors import ExchangeError
from .execution import venues
from .models import SessionMode
from .models.codec import partition_of
from .services import accounts
from .tables.exposure import exposure
from .topics import publish, publish_many

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 30.0  # seconds one account's check may take (a slow exchange fails the check)


@dataclass(frozen=True)
class AccountCheck:
    """One account's last reconciliation on this worker."""

    account: str
    exchange: str
    checked_at: datetime
    listed_open: int
    unknown: tuple[str, ...]
    error: str | None


class Reconciler:
    """Checks the live accounts whose ledger this worker owns, now and then."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self.checks: dict[str, AccountCheck] = {}
        self._reported: set[str] = set()
        self._due = True
        self._last = 0.0

    def due_now(self) -> None:
        """Partitions moved here: check at the next tick."""
        self._due = True

    async def tick(self, monotonic: float) -> None:
        if not self._due and monotonic - self._last < self.interval:
            return
        self._due, self._last = False, monotonic
        for name in owned_live_accounts():
            await self.check(name, datetime.now(timezone.utc))

    async def check(self, name: str, now: datetime) -> AccountCheck:
        account = accounts.get(name)
        assert account is not None
        listed: list[VenueOrder] = []
        error = None
        try:
            venue = venues.of(SessionMode.LIVE, account.exchange, name)
            listed = list(await asyncio.wait_for(venue.open_orders(), CHECK_TIMEOUT))
        except (ExchangeError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("account %s cannot be reconciled: %s", name, error)
        ledger = exposure.get(name)
        unknown = unknown_orders(account.exchange, listed, ledger) if error is None else []
        fresh = [o for o in unknown if o.client_order_id not in self._reported]
        change = halt_change(name, ledger, error, now)
        await publish_many(NOTIFICATIONS, [order_unknown(name, o) for o in fresh])
        if change is not None:
            await publish(ACCOUNTORDERS, change)  # the account's one writer halts or resumes it
            await publish(NOTIFICATIONS, account_halted(change))
        self._reported |= {o.client_order_id for o in fresh}
        check = AccountCheck(name, account.exchange, now, len(listed), tuple(o.client_order_id for o in unknown), error)
        self.checks[name] = check
        return check


def owned_live_accounts() -> list[str]:
    """The live accounts (with keys) whose ledger partition this worker owns."""
    if settings.trading_mode is not TradingMode.LIVE:
        return []
    mine = owned_partitions(ACCOUNTORDERS)  # the exposure table is co-partitioned with it
    return [
        name
        for name in accounts.names()
        if (found := accounts.get(name)) is not None
        and found.api_key is not None
        and partition_of(name, settings.partitions) in mine
    ]


reconciler = Reconciler()
