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
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from ..domain.candles import EPOCH, Fetched, close_time, timeframe_delta
from ..domain.execution import on_order, on_venue_event
from ..domain.exposure import AccountLimits
from ..domain.fanout import price_updates
from ..domain.feeds import apply_request
from ..domain.ledger import Holding
from ..domain.money import on_account_event, sizing
from ..domain.numbers import engine_context
from ..domain.sessions import strategy_instance_id
from ..domain.tracking import Tracked, holding_of, inert, on_report, on_request, quiet
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
NO_LIMITS = AccountLimits()  # a backtest's account: its one session, no account-wide limits


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
class _Run:
    """One run's series (warm-up first), its decisions (``decided[i]`` of candle ``first + i``),
    the market port (its clock) and the executor, and what the run made so far."""

    series: list[Candle]
    first: int
    decided: list[Decision | None]
    market: CandleMarket
    executor: Executor
    keep: int  # the strategy's window
    ahead: list[int] = field(default_factory=list)  # the series' indices of the decisions, in order
    delta: timedelta = timedelta(0)  # the candles' timeframe
    closes: list[Decimal] = field(default_factory=list)  # of the series' candles
    closed_at: list[datetime] = field(default_factory=list)  # the close time of each candle
    last_taken: datetime | None = None  # the open time of the last candle the strategy published
    equity: list[tuple[datetime, Decimal]] = field(default_factory=list)
    in_market: int = 0

    def __post_init__(self) -> None:
        self.ahead = [self.first + i for i, d in enumerate(self.decided) if d is not None]
        self.delta = timeframe_delta(self.series[self.first].timeframe)
        self.closes = [c.close for c in self.series]
        self.closed_at = [c.open_time + self.delta for c in self.series]
        self.last_taken = self.series[self.first - 1].open_time if self.first else None


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
    visited: dict[str, datetime] = field(default_factory=dict)  # order id -> the clock it was last visited at


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
        run = _Run(series, first, decided, market, executor, keep=max(self._strategy.warmup, 1))
        state, instance = self._started(series[first].open_time)
        at = first
        while at < len(series):
            skipped = self._skippable(run, at)
            if not skipped:
                await self._take(run, state, instance, at)
            stop = at + max(skipped, 1)
            self._mark(run, state, at, stop)
            at = stop
        await executor.close()
        tables = self._tables
        return Outcome(tables.trades, list(tables.orders.values()), run.equity, tables.position, len(candles),
                       run.in_market)  # fmt: skip

    def _skippable(self, run: _Run, at: int) -> int:
        """How many candles from ``at`` on are quiet (0: take this one): the strategy decides
        nothing, no order is open and the tracker would only mark the position (``tracking.quiet``;
        while it is ``inert``, every candle up to the next decision is). The first and last
        candles are always taken."""
        last = len(run.series) - 1
        if self._every_candle or at in (run.first, last) or run.decided[at - run.first] is not None:
            return 0
        position = self._tables.position
        if self._tables.open_orders or not quiet(position, run.series[at]):
            return 0
        if not inert(position):
            return 1
        ahead = bisect.bisect_left(run.ahead, at)
        return min(run.ahead[ahead] if ahead < len(run.ahead) else last, last) - at

    async def _take(self, run: _Run, state: SessionState, instance: ActiveStrategy, at: int) -> None:
        """Candle ``at`` through the steps: the orders it fills, then (unless the candle is quiet
        once they are settled) the strategy's decision and the tracker, then what they ordered."""
        candle, decision = run.series[at], run.decided[at - run.first]
        run.market.clock = close_time(candle)
        await self._settle(state, run)
        if self._skippable(run, at):
            return
        published = candle.derive(previous_open=run.last_taken) if run.last_taken is not None else candle
        window = run.series[max(0, at + 1 - run.keep) : at + 1]
        await self._candle(state, instance, published, window, decision)
        await self._settle(state, run)
        run.last_taken = candle.open_time

    def _mark(self, run: _Run, state: SessionState, start: int, stop: int) -> None:
        """The equity at the close of candles ``start`` to ``stop`` (excluded), the position as it is."""
        holding = self._holding(state)
        run.equity.extend(zip(run.closed_at[start:stop], map(holding.equity, run.closes[start:stop]), strict=True))
        if not holding.flat:
            run.in_market += stop - start
        if self._progress is not None:
            self._progress(stop - run.first, len(run.series) - run.first)

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
        decision = on_account_event(tables.exposure, event, NO_LIMITS)
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

    async def _settle(self, state: SessionState, run: _Run) -> None:
        """Visit the open orders until the venue has nothing new to say of them: each once per
        moment of the market's clock, as the paper venue's answer of an order follows from the
        order and the candles closed by then alone (a second visit at the same moment finds
        nothing new); the orders their events give rise to are visited in turn."""
        tables = self._tables
        visited = tables.visited
        now = run.market.clock
        while True:
            due = [tables.orders[order_id] for order_id in sorted(tables.open_orders) if visited.get(order_id) != now]
            if not due:
                return
            await run.executor.visit_in_turn(due)
            visited.update((s.order.order_id, now) for s in due)
            events, tables.events = tables.events, []
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
