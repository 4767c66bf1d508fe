"""The paper venue: the trading port over simulated fills, for paper and backtest sessions.

In: sized ``Order`` records, and the market-data port of the order's exchange (the very
source the collector publishes from), through which it sees the candle after the decision.
Out: ``VenueOrder`` values with their fills, by the fill model of
:mod:`r3edge_streams.domain.paper` and the session's fee and slippage. A second placement
of a client order id is the order placed first, as it is now.

It keeps no state that matters: every fill follows from the order and the market's candles,
so after a restart (its memory empty) the executor finds no order under the client id,
places it again, and gets the very same fill — which is what makes "placed once, found again"
hold for paper exactly as for a live venue. Balances are the session's own: the order carries
the session's free cash and holding when it decided (a session has one order in flight, so
nothing else spends them meanwhile), and a fill that would overdraw them is refused.
Market rules are the replay's own (``replay_rules``) or, for a ccxt exchange, a spot default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from ..domain.candles import close_time, timeframe_delta
from ..domain.paper import Overdrawn, PaperFill, filled_at, limit_fill, market_fill, settled
from ..domain.values import replace, value
from ..domain.venue import Balance, MarketRules, VenueFill, VenueOrder
from ..models import Candle, Order, OrderStatus, OrderType
from .errors import OrderNotFound
from .market_data import MarketData

PAPER_VENUE = "paper"


@value
class _Placed:
    order: Order
    venue: VenueOrder


class PaperVenue:
    """Simulated fills on the candles of one exchange's market data."""

    def __init__(self, market_data: MarketData, rules: Callable[[str], MarketRules] | None = None) -> None:
        self._market_data = market_data
        self._rules = rules or default_rules
        self._orders: dict[str, _Placed] = {}

    @property
    def venue_id(self) -> str:
        return f"{PAPER_VENUE}:{self._market_data.exchange_id}"

    async def market_rules(self, symbol: str) -> MarketRules:
        return self._rules(symbol)

    async def place(self, order: Order) -> VenueOrder:
        if order.client_order_id in self._orders:  # placed before: the order as it is now
            return await self._progressed(order.client_order_id)
        venue = VenueOrder(client_order_id=order.client_order_id, symbol=order.symbol, side=order.side,
                           order_type=order.order_type, quantity=order.quantity, status=OrderStatus.ACCEPTED,
                           created_at=order.created_at, limit_price=order.limit_price,
                           venue_order_id=f"paper-{order.client_order_id}")  # fmt: skip
        self._orders[order.client_order_id] = _Placed(order, venue)
        return await self._progressed(order.client_order_id)

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> VenueOrder | None:
        if client_order_id not in self._orders:
            return None
        return await self._progressed(client_order_id)

    async def cancel(self, symbol: str, client_order_id: str, venue_order_id: str | None = None) -> VenueOrder:
        placed = self._orders.get(client_order_id)
        if placed is None:
            raise OrderNotFound(f"no order {client_order_id}")
        if placed.venue.status.final:
            return placed.venue
        venue = replace(placed.venue, status=OrderStatus.CANCELLED, reason="cancelled")
        self._orders[client_order_id] = _Placed(placed.order, venue)
        return venue

    async def open_orders(self, symbol: str | None = None) -> Sequence[VenueOrder]:
        return [p.venue for p in self._orders.values() if not p.venue.status.final and symbol in (None, p.order.symbol)]

    async def balances(self) -> Mapping[str, Balance]:
        return {}  # a paper session's balances are its own (its position's cash and holding)

    async def close(self) -> None:
        self._orders.clear()

    async def _progressed(self, client_order_id: str) -> VenueOrder:
        """The order after the candles that came since: filled by the model, or still waiting."""
        placed = self._orders[client_order_id]
        if placed.venue.status.final:
            return placed.venue
        fill, candle = await self._fill(placed.order)
        if fill is None:
            return placed.venue
        venue = _with_fill(placed, fill, candle)
        self._orders[client_order_id] = _Placed(placed.order, venue)
        return venue

    async def _fill(self, order: Order) -> tuple[PaperFill | None, Candle | None]:
        if order.trigger_price is not None:  # a protective exit: at its trigger, on its own candle
            return filled_at(order.side, order.quantity, order.trigger_price, order.fills), None
        candle = await self._next_candle(order)
        if candle is None:
            return None, None
        if order.order_type is OrderType.LIMIT and order.limit_price is not None:
            return limit_fill(order.side, order.quantity, order.limit_price, candle, order.fills), candle
        return market_fill(order.side, order.quantity, candle, order.fills), candle

    async def _next_candle(self, order: Order) -> Candle | None:
        """The market's first closed candle after the order's decision candle, if there is one yet."""
        if order.candle_time is None:
            return None
        step = timeframe_delta(order.timeframe)
        await self._market_data.observe(order.candle_time + step)  # the decision candle closed: the engine saw it
        fetched = await self._market_data.fetch_candles(order.symbol, order.timeframe, order.candle_time + step, 2)
        now = await self._market_data.now()
        for candle in fetched:
            if isinstance(candle, Candle) and candle.open_time > order.candle_time and close_time(candle) <= now:
                return candle
        return None


def _with_fill(placed: _Placed, fill: PaperFill, candle: Candle | None) -> VenueOrder:
    order = placed.order
    base, quote = order.symbol.split("/", 1)[0], order.symbol.split("/", 1)[1].split(":")[0]
    balances = {quote: order.cash, base: order.holding}
    after = settled(balances, base, quote, order.side, fill)
    if isinstance(after, Overdrawn):
        return replace(placed.venue, status=OrderStatus.REJECTED, reason=after.reason)
    at = close_time(candle) if candle is not None else order.created_at
    trade = VenueFill(trade_id=f"{order.client_order_id}-1", quantity=fill.quantity, price=fill.price, fee=fill.fee,
                      fee_currency=quote, at=candle.open_time if candle is not None else at)  # fmt: skip
    return replace(placed.venue, status=OrderStatus.FILLED, fills=(trade,))


def default_rules(symbol: str) -> MarketRules:
    """Rules of a market that states none (the replay's): steps of 1e-8 and no minimum notional."""
    base, _, rest = symbol.partition("/")
    step = Decimal("0.00000001")
    return MarketRules(symbol=symbol, base=base, quote=rest.split(":")[0], lot_step=step, min_quantity=step,
                       price_tick=step, min_notional=Decimal(0))  # fmt: skip
