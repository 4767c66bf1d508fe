"""The executor visits each order on a task of its own: a silent exchange holds back only its
own account's orders (at most ``concurrency`` of its calls at once), one visit of an order at a
time, and an order whose last event the table does not show yet is not asked about again."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from r3edge_streams.domain.money import client_order_id
from r3edge_streams.domain.venue import Balance, MarketRules, VenueFill, VenueOrder
from r3edge_streams.engines.executor import Executor
from r3edge_streams.models import Order, OrderSide, OrderState, OrderStatus, OrderType, SessionMode, VenueEvent

T0 = datetime(2017, 11, 6, tzinfo=timezone.utc)


class Gated:
    """A venue whose answers wait for ``gate`` (never, unless the test opens it); counts its calls."""

    venue_id = "binance"

    def __init__(self, gate: asyncio.Event) -> None:
        self.gate = gate
        self.calls: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def market_rules(self, symbol: str) -> MarketRules:
        raise AssertionError("not asked by the executor")

    async def place(self, order: Order) -> VenueOrder:
        await self._answer(f"place {order.order_id}")
        fill = VenueFill(trade_id=f"t-{order.order_id}", quantity=order.quantity, price=Decimal("0.0016"),
                         fee=Decimal(0), fee_currency="BTC", at=T0)  # fmt: skip
        return VenueOrder(client_order_id=order.client_order_id, symbol=order.symbol, side=order.side,
                          order_type=order.order_type, quantity=order.quantity, status=OrderStatus.FILLED,
                          created_at=T0, venue_order_id=f"v-{order.order_id}", fills=(fill,))  # fmt: skip

    async def cancel(self, symbol: str, client_order_id: str, venue_order_id: str | None = None) -> VenueOrder:
        raise AssertionError("nothing is cancelled here")

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> VenueOrder | None:
        await self._answer(f"fetch {client_order_id}")
        return None

    async def open_orders(self, symbol: str | None = None) -> Sequence[VenueOrder]:
        return []

    async def balances(self) -> Mapping[str, Balance]:
        return {}

    async def close(self) -> None:
        return None

    async def _answer(self, call: str) -> None:
        self.calls.append(call)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1


class Sink:
    def __init__(self) -> None:
        self.events: list[VenueEvent] = []

    async def publish(self, events: list[VenueEvent]) -> None:
        self.events.extend(events)


def state(order_id: str, account: str) -> OrderState:
    order = Order(order_id=order_id, session_id=order_id.split(":")[0], exchange="binance", symbol="UNITTEST/BTC",
                  side=OrderSide.BUY, order_type=OrderType.MARKET, mode=SessionMode.LIVE, created_at=T0,
                  quantity=Decimal(5), client_order_id=client_order_id(order_id), account=account)  # fmt: skip
    return OrderState(order=order, status=OrderStatus.ACCEPTED, updated_at=T0)


async def until(condition: object, what: str) -> None:
    """Let the event loop run until ``condition()`` holds (a bounded number of turns)."""
    for _ in range(1000):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


async def test_a_silent_exchange_holds_back_only_its_own_accounts_orders() -> None:
    silent, quick = Gated(asyncio.Event()), Gated(asyncio.Event())
    quick.gate.set()
    sink = Sink()
    venues = {"slow": silent, "fast": quick}
    executor = Executor(lambda o: venues[o.account or ""], sink, concurrency=8)
    slow_orders = [state(f"s{n}:o1", "slow") for n in range(20)]
    await executor.visit([*slow_orders, state("f1:o1", "fast")])

    await until(lambda: [e.order_id for e in sink.events] == ["f1:o1"], "the quick account's order reported")
    assert sink.events[0].status is OrderStatus.FILLED
    assert silent.most_in_flight == 8, "the silent account has its 8 calls out, no more"
    assert len(silent.calls) == 8
    await executor.close()


async def test_an_order_is_visited_once_at_a_time_and_not_again_before_the_table_shows_its_news() -> None:
    venue = Gated(asyncio.Event())
    sink = Sink()
    clock = [T0]
    executor = Executor(lambda o: venue, sink, clock=lambda: clock[0], catch_up=5.0)
    order = state("a:o1", "main")
    await executor.visit([order])
    await until(lambda: venue.calls, "the first call")
    await executor.visit([order])  # a second round while the first visit waits
    await asyncio.sleep(0)
    assert venue.calls == [f"place {order.order.order_id}"], "one visit at a time"

    venue.gate.set()
    await executor.drain()
    assert [e.status for e in sink.events] == [OrderStatus.FILLED]
    calls = len(venue.calls)
    await executor.visit([order])  # the table still shows the order unplaced: its news is on its way
    await executor.drain()
    assert len(venue.calls) == calls, "not asked again while its event travels"

    clock[0] = T0 + timedelta(seconds=6)  # the table never caught up: asked again after catch_up
    await executor.visit([order])
    await executor.drain()
    assert len(venue.calls) > calls
