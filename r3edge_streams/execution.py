"""This worker's order execution wired to Kafka: venues, the executor and its event sink.

In: settings, the exchange registry (market data), the ``orders`` table and the partition
assignment. Out: ``venues`` (the trading port of each order: the paper venue for paper and
backtest sessions), ``executor`` (the :class:`~r3edge_streams.engines.executor.Executor`
of this worker, run by the OrderManager's timer over the orders it owns) and
``market_rules`` for the MoneyManager's sizing.
"""

from __future__ import annotations

from .application import settings
from .catalogue import ORDERS, VENUEEVENTS
from .collection import owned_partitions, registry
from .domain.venue import MarketRules
from .engines.executor import Executor
from .exchanges.errors import OrderRejected
from .exchanges.paper import PaperVenue
from .exchanges.trading import Trading
from .models import Order, OrderState, SessionMode, VenueEvent
from .models.codec import partition_of
from .services import failpoints
from .tables.orders import orders
from .topics import publish_many

LIVE_NOT_BUILT = "live execution through ccxt is not built yet: live orders are refused, nothing is placed"


class Venues:
    """One trading port per (mode, exchange): the paper venue over the exchange's own market data."""

    def __init__(self) -> None:
        self._paper: dict[str, PaperVenue] = {}

    def for_order(self, order: Order) -> Trading:
        return self.of(order.mode, order.exchange)

    def of(self, mode: SessionMode, exchange: str) -> Trading:
        if mode is SessionMode.LIVE:
            raise OrderRejected(LIVE_NOT_BUILT)
        venue = self._paper.get(exchange)
        if venue is None:
            venue = self._paper[exchange] = PaperVenue(registry.get(exchange))
        return venue

    async def close(self) -> None:
        venues, self._paper = self._paper, {}
        for venue in venues.values():
            await venue.close()


async def market_rules(mode: SessionMode, exchange: str, symbol: str) -> MarketRules:
    """The rules the sizing of an order of ``symbol`` must keep (``OrderRejected`` for live today)."""
    return await venues.of(mode, exchange).market_rules(symbol)


class KafkaEventSink:
    """Publishes venue events on ``venueevents`` for the order agent."""

    async def publish(self, events: list[VenueEvent]) -> None:
        await publish_many(VENUEEVENTS, events)


def owned_orders() -> list[OrderState]:
    """The orders of the ``orders`` partitions this worker owns."""
    mine = owned_partitions(ORDERS)
    return [state for key, state in list(orders.items()) if partition_of(key, settings.partitions) in mine]


venues = Venues()
executor = Executor(venues.for_order, KafkaEventSink(), timeout=settings.order_timeout, checkpoint=failpoints.reach)
