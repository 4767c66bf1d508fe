"""The executor refuses an order only when it never reached its venue: a venue that cannot be
asked about an order it holds is no news of that order (refusing it would leave a ghost order)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal

from r3edge_streams.domain.money import client_order_id
from r3edge_streams.domain.venue import Balance, MarketRules, VenueOrder
from r3edge_streams.engines.executor import Executor
from r3edge_streams.exchanges.errors import ExchangeRejected, OrderRejected
from r3edge_streams.models import Order, OrderSide, OrderState, OrderStatus, OrderType, SessionMode, VenueEvent

T0 = datetime(2017, 11, 6, tzinfo=timezone.utc)


class Refusing:
    """A venue whose every answer is the error it was given (lookups and placements alike)."""

    venue_id = "scripted"

    def __init__(self, lookup: Exception | None, placement: Exception | None) -> None:
        self.lookup, self.placement = lookup, placement

    async def market_rules(self, symbol: str) -> MarketRules:
        raise NotImplementedError

    async def place(self, order: Order) -> VenueOrder:
        await self.fetch_order(order.symbol, order.client_order_id)  # the port's place looks up first
        assert self.placement is not None
        raise self.placement

    async def cancel(self, symbol: str, client_order_id: str, venue_order_id: str | None = None) -> VenueOrder:
        raise NotImplementedError

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> VenueOrder | None:
        if self.lookup is not None:
            raise self.lookup
        return None

    async def open_orders(self, symbol: str | None = None) -> Sequence[VenueOrder]:
        return []

    async def balances(self) -> Mapping[str, Balance]:
        return {}

    async def close(self) -> None:
        return None


class Sink:
    def __init__(self) -> None:
        self.events: list[VenueEvent] = []

    async def publish(self, events: list[VenueEvent]) -> None:
        self.events.extend(events)


def state(placed: bool) -> OrderState:
    order = Order(order_id="s1:o1", session_id="s1", exchange="binance", symbol="UNITTEST/BTC", side=OrderSide.BUY,
                  order_type=OrderType.MARKET, mode=SessionMode.LIVE, created_at=T0, quantity=Decimal(5),
                  client_order_id=client_order_id("s1:o1"), account="main")  # fmt: skip
    return OrderState(order=order, status=OrderStatus.ACCEPTED, updated_at=T0, placed=placed)


async def test_a_refused_placement_is_the_orders_end_with_the_venues_reason() -> None:
    sink = Sink()
    executor = Executor(lambda o: Refusing(None, OrderRejected("Filter failure: LOT_SIZE")), sink)
    await executor.visit([state(False)])
    await executor.drain()
    [event] = sink.events
    assert event.status is OrderStatus.REJECTED and event.reason == "Filter failure: LOT_SIZE"


async def test_a_lookup_refused_for_a_placed_order_leaves_it_open() -> None:
    sink = Sink()
    executor = Executor(lambda o: Refusing(ExchangeRejected("BadRequest: lookups off"), None), sink)
    await executor.visit([state(True)])
    await executor.drain()
    assert sink.events == []


async def test_a_lookup_refused_before_placing_refuses_the_order_unplaced() -> None:
    sink = Sink()
    executor = Executor(lambda o: Refusing(ExchangeRejected("BadRequest: lookups off"), None), sink)
    await executor.visit([state(False)])
    await executor.drain()
    [event] = sink.events
    assert event.status is OrderStatus.REJECTED and "lookups off" in (event.reason or "")
