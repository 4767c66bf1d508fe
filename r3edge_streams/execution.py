"""This worker's order execution wired to Kafka: venues, the executor and its event sink.

In: settings, the exchange accounts, the exchange registry (market data), the ``orders`` table
and the partition assignment. Out: ``venues`` (the trading port of each order: the paper
venue for paper and backtest sessions, the account's ccxt venue for live ones, each account
with one request budget on this worker), ``executor`` (the :class:`~r3edge_streams.engines.executor.Executor`
of this worker, run by the OrderManager's timer over the orders it owns) and
``market_rules`` for the MoneyManager's sizing.
"""

from __future__ import annotations

import asyncio
import logging

from .accounts import Accounts
from .application import settings
from .catalogue import ORDERS, VENUEEVENTS
from .collection import owned_partitions, registry
from .config import TradingMode
from .domain.venue import MarketRules
from .engines.executor import Executor
from .exchanges.budget import RateBudget
from .exchanges.ccxt_trading import CcxtVenue
from .exchanges.errors import ExchangeError, OrderRejected, TransientExchangeError
from .exchanges.paper import PaperVenue
from .exchanges.trading import Trading
from .models import Order, OrderState, SessionMode, VenueEvent
from .models.codec import partition_of
from .services import accounts, failpoints
from .tables.orders import orders
from .topics import publish_many

log = logging.getLogger(__name__)
RULES_WAIT = 5.0  # seconds the sizing of a live order waits for its exchange's market rules


class Venues:
    """The paper venue per exchange (over its own market data); the ccxt venue per live account."""

    def __init__(self, accounts: Accounts, live: bool) -> None:
        self._accounts = accounts
        self._live_allowed = live
        self._paper: dict[str, PaperVenue] = {}
        self._live: dict[str, CcxtVenue] = {}
        self._budgets: dict[str, RateBudget] = {}

    def for_order(self, order: Order) -> Trading:
        return self.of(order.mode, order.exchange, order.account)

    def of(self, mode: SessionMode, exchange: str, account: str | None = None) -> Trading:
        if mode is SessionMode.LIVE:
            return self._live_venue(exchange, account)
        venue = self._paper.get(exchange)
        if venue is None:
            venue = self._paper[exchange] = PaperVenue(registry.get(exchange))
        return venue

    async def warm(self) -> None:
        """Load the markets of every live account's exchange, so that sizing a live order does not
        wait for them (an exchange that does not answer now is tried again at the first order)."""
        if not self._live_allowed:
            return
        for name in self._accounts.names():
            found = self._accounts.get(name)
            if found is None or found.api_key is None or found.exchange == "replay":
                continue
            try:
                venue = self._live_venue(found.exchange, name)
                if isinstance(venue, CcxtVenue):
                    await venue.load_markets()
            except ExchangeError as exc:
                log.warning("account %s: markets not loaded yet (%s)", name, exc)

    def budget(self, account: str) -> RateBudget | None:
        """The request budget of a live account on this worker (None before its first request)."""
        return self._budgets.get(account)

    def _live_venue(self, exchange: str, name: str | None) -> Trading:
        if not self._live_allowed:
            raise OrderRejected("live trading is off on this worker (R3EDGE_TRADING_MODE=paper): nothing is placed")
        account = self._accounts.get(name) if name is not None else None
        if account is None or account.exchange != exchange:
            raise OrderRejected(f"no {exchange} account {name!r} on this worker: nothing is placed")
        venue = self._live.get(account.name)
        if venue is None:
            budget = self._budgets.setdefault(account.name, RateBudget(account.requests_per_second))
            venue = self._live[account.name] = CcxtVenue(
                exchange,
                account,
                budget,
                api_url=dict(settings.exchange_urls).get(exchange),
                timeout_ms=int(settings.exchange_timeout * 1000),
            )
        return venue

    async def close(self) -> None:
        venues: list[Trading] = [*self._paper.values(), *self._live.values()]
        self._paper, self._live = {}, {}
        for venue in venues:
            await venue.close()


async def market_rules(mode: SessionMode, exchange: str, symbol: str, account: str | None = None) -> MarketRules:
    """The rules the sizing of an order of ``symbol`` must keep, as the order's venue states them.
    A live exchange that has not given its markets within ``RULES_WAIT`` seconds (they are read
    when the worker starts, so only a slow or silent exchange) is a ``TransientExchangeError``:
    the sizing agent serves every session's orders, and one exchange must not stall the others.
    The read goes on meanwhile, for the next order."""
    asked = venues.of(mode, exchange, account).market_rules(symbol)
    if mode is not SessionMode.LIVE:
        return await asked
    reading = asyncio.ensure_future(asked)
    reading.add_done_callback(_quietly)
    try:
        return await asyncio.wait_for(asyncio.shield(reading), RULES_WAIT)
    except TimeoutError:
        raise TransientExchangeError(
            f"{exchange} has not given its market rules within {RULES_WAIT:.0f} s (slow or unreachable)"
        ) from None


def _quietly(reading: asyncio.Future[MarketRules]) -> None:
    """A read the sizing stopped waiting for: its error was told by the venue's own log."""
    if not reading.cancelled():
        reading.exception()


class KafkaEventSink:
    """Publishes venue events on ``venueevents`` for the order agent."""

    async def publish(self, events: list[VenueEvent]) -> None:
        await publish_many(VENUEEVENTS, events)


def owned_orders() -> list[OrderState]:
    """The orders of the ``orders`` partitions this worker owns."""
    mine = owned_partitions(ORDERS)
    return [state for key, state in list(orders.items()) if partition_of(key, settings.partitions) in mine]


venues = Venues(accounts, settings.trading_mode is TradingMode.LIVE)
executor = Executor(venues.for_order, KafkaEventSink(), timeout=settings.order_timeout, checkpoint=failpoints.reach)
