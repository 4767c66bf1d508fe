"""The backtest driver: one session's candles through the agents' own steps, in one process.

In: a ``SessionSpec`` (strategy and parameters, market, risk, the paper fill model), the
market's closed candles of the run in order, and the candles just before them (the strategy's
warm-up, as the strategy agent's history gives it). Out: ``Outcome``: every round trip, every
order with its reports, the equity after each candle, and the position at the end.

No Kafka and no wall clock: the only time is the candles'. A candle goes through the very step
functions the agents run, in the order a session's events reach them over Kafka:

1. the open orders are visited by the OrderManager's ``Executor`` on the ``PaperVenue`` (an
   order decided at the candle before fills at this candle's open, once the candle has closed)
   and each venue event goes through the order agent's ``on_venue_event``, its reports to the
   tracker's ``on_report``, its account events to the account agent's ``on_account_event``;
2. the strategy agent's ``runner.decide`` evaluates the strategy on the candle's window and
   gives the session's requests (the candle's price, then the signal of its close), each
   through the tracker's feed (``apply_request``) and step (``on_request``);
3. a raw order goes through the sizing agent's ``sizing``, the account agent's
   ``on_account_event`` and the order agent's ``on_order``, and the executor visits it at once
   (a protective exit fills at its trigger on its own candle).

Every step's effects are taken before the next event, as each agent sends its effects before it
writes its table; the tracker's backlog makes the decisions those of event time whichever way
fills and candles interleave, so the Kafka path and this driver make the same trades.

Quiet candles are not taken through the steps, which is what makes the driver fast: where the
strategy decides nothing (its decisions over the whole series, ``strategies.batch``, are
``evaluate``'s own), no order is open and the tracker would only mark the position
(``tracking.quiet``: flat, or no level fired or moved), the steps would change nothing that the
next candle taken does not overwrite. Such a candle still counts in the equity curve and the
time in market. The first and last candles are always taken; ``every_candle`` takes them all,
and tests hold the two outcomes equal.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext

from ..domain.candles import EPOCH, Fetched, close_time
from ..domain.execution import on_order, on_venue_event
from ..domain.exposure import AccountLimits
from ..domain.fanout import price_updates
from ..domain.feeds import apply_request
from ..domain.ledger import Holding
from ..domain.money import on_account_event, sizing
from ..domain.numbers import engine_context
from ..domain.sessions import strategy_instance_id
from ..domain.tracking import Tracked, holding_of, on_report, on_request, quiet
from ..exchanges.paper import PaperVenue
from ..models import (
    AccountEvent,
    AccountExposure,
    ActiveStrategy,
    Candle,
    Order,
    OrderState,
    Position,
    RawOrder,
    SessionFeed,
    SessionMode,
    SessionRequest,
    SessionSpec,
    SessionState,
    SessionStatus,
    VenueEvent,
)
from ..models.orders import ExecutionReport
from ..models.positions import Trade
from ..strategies.base import Decision
from ..strategies.batch import decisions
from ..strategies.registry import create
from ..strategies.runner import Decided, decide
from .executor import Executor

Progress = Callable[[int, int], None]  # (candles done, candles in all)
ORDER_TIMEOUT_SECONDS = 300.0  # of event time, as the executor's order timeout on a worker


@dataclass(frozen=True)
class Outcome:
    """What a backtest made: its trades, orders, equity after each candle and final position."""

    trades: list[Trade]
    orders: list[OrderState]
    equity: list[tuple[datetime, Decimal]]
    position: Position | None
    candles: int
    in_market: int  # candles that closed with a position open


class CandleMarket:
    """The market-data port over a list of candles, its clock moved by the driver (never read
    from the wall): the paper venue sees a candle only once the driver's time passed its close."""

    def __init__(self, exchange: str, candles: Sequence[Candle]) -> None:
        self._exchange = exchange
        self._candles = list(candles)
        self._opens = [c.open_time for c in self._candles]
        self.clock = self._candles[0].open_time if self._candles else EPOCH

    @property
    def exchange_id(self) -> str:
        return self._exchange

    async def now(self) -> datetime:
        return self.clock

    async def observe(self, moment: datetime) -> None:
        return None  # the driver alone moves this clock

    async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
        start = bisect.bisect_left(self._opens, since)
        return self._candles[start : start + limit]

    async def close(self) -> None:
        return None


@dataclass
class _Session:
    """The tables of the run, each written by its step as its agent writes it."""

    feed: SessionFeed | None = None
    position: Position | None = None
    exposure: AccountExposure | None = None
    orders: dict[str, OrderState] = field(default_factory=dict)
    open_orders: set[str] = field(default_factory=set)  # ids of the orders not final
    trades: list[Trade] = field(default_factory=list)
    trade_numbers: set[int] = field(default_factory=set)  # of ``trades``: the tracker's log keeps each once
    events: list[VenueEvent] = field(default_factory=list)


class Backtest:
    """One run of one session spec over one market's candles."""

    def __init__(
        self,
        spec: SessionSpec,
        session_id: str = "backtest",
        progress: Progress | None = None,
        every_candle: bool = False,
    ) -> None:
        """``every_candle``: take every candle through the steps, quiet or not (as slow as the
        agents; the same outcome, which is how the quiet skips are checked)."""
        self._spec = spec.derive(mode=SessionMode.PAPER)  # the paper venue, tracked as a paper session
        self._session_id = session_id
        self._progress = progress
        self._strategy = create(spec.strategy, spec.parameters)
        self._tables = _Session()
        self._venue: PaperVenue | None = None
        self._held: tuple[Position | None, Holding] | None = None
        self._every_candle = every_candle

    async def run(self, candles: Sequence[Candle], warmup: Sequence[Candle] = ()) -> Outcome:
        """Every candle of ``candles`` through the steps; ``warmup``: the candles before them. The
        arithmetic is the engine's (:mod:`r3edge_streams.domain.numbers`), whatever the caller's."""
        with localcontext(engine_context()):
            return await self._run(candles, warmup)

    async def _run(self, candles: Sequence[Candle], warmup: Sequence[Candle]) -> Outcome:
        if not candles:
            return Outcome([], [], [], None, 0, 0)
        series = _unlinked([*warmup, *candles])  # as the strategy's windows hold them
        first = len(series) - len(candles)
        market = CandleMarket(self._spec.exchange, series)
        venue = self._venue = PaperVenue(market)
        executor = Executor(
            lambda order: venue, self, timeout=ORDER_TIMEOUT_SECONDS, call_timeout=None, clock=lambda: market.clock
        )
        decided = decisions(self._strategy, series, first)
        state, instance = self._started(series[first].open_time)
        keep = max(self._strategy.warmup, 1)
        equity: list[tuple[datetime, Decimal]] = []
        in_market = 0
        for at in range(first, len(series)):
            candle = series[at]
            market.clock = close_time(candle)
            decision = decided[at - first]
            if at in (first, len(series) - 1) or not self._quiet(decision, candle):
                await self._settle(state, executor)
                published = candle.derive(previous_open=series[at - 1].open_time) if at else candle
                await self._candle(state, instance, published, series[max(0, at + 1 - keep) : at + 1], decision)
                await self._settle(state, executor)
            holding = self._holding(state)
            equity.append((market.clock, holding.equity(candle.close)))
            in_market += not holding.flat
            if self._progress is not None:
                self._progress(at - first + 1, len(candles))
        await executor.close()
        tables = self._tables
        return Outcome(tables.trades, list(tables.orders.values()), equity, tables.position, len(candles), in_market)

    def _quiet(self, decision: Decision | None, candle: Candle) -> bool:
        """Whether the candle's steps would change nothing the next candle's do not overwrite: the
        strategy decides nothing, no order is open, and the tracker would only mark the position
        (``tracking.quiet``). Such a candle is not taken through the steps; its equity is."""
        tables = self._tables
        return not self._every_candle and decision is None and not tables.open_orders and quiet(tables.position, candle)

    async def publish(self, events: list[VenueEvent]) -> None:
        """The executor's sink: venue events wait for the order agent's step (``_settle``)."""
        self._tables.events.extend(events)

    # -- the session and its instance

    def _started(self, moment: datetime) -> tuple[SessionState, ActiveStrategy]:
        state = SessionState(session_id=self._session_id, spec=self._spec, status=SessionStatus.ACTIVE, version=1,
                             created_at=moment, updated_at=moment, last_command_id="backtest",
                             started_at=moment)  # fmt: skip
        spec = self._spec
        instance = ActiveStrategy(strategy_id=strategy_instance_id(spec), strategy=spec.strategy,
                                  parameters=spec.parameters, exchange=spec.exchange, symbol=spec.symbol,
                                  timeframe=spec.timeframe, sessions=[self._session_id], version=1,
                                  updated_at=moment)  # fmt: skip
        return state, instance

    def _holding(self, state: SessionState) -> Holding:
        """The session's money now (computed again only when its position changed)."""
        position = self._tables.position
        if self._held is None or self._held[0] is not position:
            holding = holding_of(position) if position is not None else Holding.of(state.spec.risk.capital)
            self._held = (position, holding)
        return self._held[1]

    # -- the strategy agent, then the tracker's feed and step

    async def _candle(
        self,
        state: SessionState,
        instance: ActiveStrategy,
        candle: Candle,
        window: Sequence[Candle],
        expected: Decision | None,
    ) -> None:
        """The strategy agent's decision at ``candle`` (as published, linked) on its ``window``,
        then each of its requests through the tracker; ``expected``: the decision of the series."""
        if expected is None:
            made = Decided(None, price_updates(candle, instance.sessions))
        else:
            made = decide(instance, candle, window, self._strategy)
            if made.signal is None or made.signal.direction is not expected.direction:
                raise RuntimeError(
                    f"strategy {instance.strategy}: its decisions at once and evaluate differ at {candle.open_time}"
                )
        for request in made.requests:
            await self._request(state, instance, request)

    async def _request(self, state: SessionState, instance: ActiveStrategy, request: SessionRequest) -> None:
        tables = self._tables
        feed = apply_request(tables.feed, request, instance.strategy_id)
        if feed is None:
            return
        tracked = on_request(state, tables.position, request)
        tables.feed = feed
        await self._tracked(state, tracked)

    async def _tracked(self, state: SessionState, tracked: Tracked) -> None:
        """The tracker's results, its table first: what comes back of its order finds it written."""
        tables = self._tables
        if tracked.trade is not None and tracked.trade.number not in tables.trade_numbers:
            tables.trades.append(tracked.trade)
            tables.trade_numbers.add(tracked.trade.number)
        if tracked.position is not None:
            tables.position = tracked.position
        if tracked.order is not None:
            await self._raw_order(state, tracked.order)

    async def _report(self, state: SessionState, report: ExecutionReport) -> None:
        tracked = on_report(state, self._tables.position, report)
        if tracked.problem is None:
            await self._tracked(state, tracked)

    # -- the MoneyManager, then the OrderManager

    async def _raw_order(self, state: SessionState, raw: RawOrder) -> None:
        assert self._venue is not None
        sized = sizing(raw, await self._venue.market_rules(raw.symbol))
        if isinstance(sized, ExecutionReport):
            await self._report(state, sized)
            return
        await self._account(state, sized)

    async def _account(self, state: SessionState, event: AccountEvent) -> None:
        tables = self._tables
        decision = on_account_event(tables.exposure, event, AccountLimits())
        tables.exposure = decision.exposure
        if decision.order is not None:
            self._order(decision.order)
        if decision.report is not None:
            await self._report(state, decision.report)

    def _order(self, order: Order) -> None:
        kept = on_order(self._tables.orders.get(order.order_id), order, order.created_at)
        if kept.state is not None:
            self._keep(kept.state)

    def _keep(self, state: OrderState) -> None:
        tables = self._tables
        tables.orders[state.order.order_id] = state
        if state.status.final:
            tables.open_orders.discard(state.order.order_id)
        else:
            tables.open_orders.add(state.order.order_id)

    async def _settle(self, state: SessionState, executor: Executor) -> None:
        """Visit the open orders until the venue has nothing new to say of them."""
        tables = self._tables
        while True:
            if not tables.open_orders:
                return
            open_orders = [tables.orders[order_id] for order_id in sorted(tables.open_orders)]
            await executor.visit_in_turn(open_orders)
            events, tables.events = tables.events, []
            if not events:
                return
            for event in events:
                await self._venue_event(state, event)

    async def _venue_event(self, state: SessionState, event: VenueEvent) -> None:
        tables = self._tables
        result = on_venue_event(tables.orders.get(event.order_id), event)
        if result.state is not None:
            self._keep(result.state)
        for report in result.reports:
            await self._report(state, report)
        for account_event in result.account:
            await self._account(state, account_event)


def _unlinked(candles: Sequence[Candle]) -> list[Candle]:
    """The candles in order, unlinked (the driver links a candle it publishes to the one before)."""
    ordered = sorted(candles, key=lambda c: c.open_time)
    return [c if c.previous_open is None else c.derive(previous_open=None) for c in ordered]
